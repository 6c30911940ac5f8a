package gateway_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/gateway"
	"github.com/wsgate/wsgate/internal/webhooktest"
)

// TestReviewOpenFailureLeavesNoGhost: a connect answer whose groups fit
// the per-answer check but, added to the token's, exceed the registry's
// limit makes OnOpen fail. The poller then never calls OnClose (OnOpen did
// not take the connection), so the registry entry OnOpen added must be
// removed by the gateway itself: otherwise the closed client stays in
// /client/count and its uid stays online forever.
func TestReviewOpenFailureLeavesNoGhost(t *testing.T) {
	rc := webhooktest.New(t, func(r *http.Request, events []map[string]any) (int, string) {
		if events[0]["type"] == "connect" {
			return 200, `{"groups":["extra"]}`
		}
		return 204, ""
	})
	g := startGateway(t, withAuth, withWebhook(rc, "connect"), func(c *gateway.Config) { c.Registry.MaxGroupsPerClient = 2 })
	tok := token(t, jwt.MapClaims{"sub": "ghost", "groups": []string{"a", "b"}})
	c, resp, err := websocket.DefaultDialer.Dial(g.wsURL+"?token="+tok, nil)
	if err == nil {
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				break
			}
		}
		c.Close()
	} else if resp == nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := g.number(t, "/client/count", "count"); n != 0 {
		t.Errorf("/client/count = %d after the only client was closed, want 0", n)
	}
	_, out := g.call(t, http.MethodGet, "/uid/online?uid=ghost", "")
	if out["online"] != false {
		t.Errorf("/uid/online?uid=ghost = %v after its client was closed, want false", out)
	}
}
