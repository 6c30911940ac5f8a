package httpapi

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/registry"
	"github.com/wsgate/wsgate/wsframe"
)

// FuzzHandle feeds arbitrary bodies and query strings to every route. The
// handler must never panic, must answer with a documented status, and must
// always answer JSON: an object, with "error" on failure.
func FuzzHandle(f *testing.F) {
	reg, err := registry.New[*wsframe.Frame](registry.Config{})
	if err != nil {
		f.Fatal(err)
	}
	s := &Server{hub: hub.NewLocal(reg), cfg: Config{MaxBody: DefaultMaxBody}}
	paths := make([]string, 0, len(routes))
	for p := range routes {
		if p != "/" && p != "/metrics" { // HTML and the Prometheus format: their own tests read them
			paths = append(paths, p)
		}
	}
	slices.Sort(paths) // a seed names the same route on every run
	seeds := []string{
		`{"data":"hi"}`, `{"data":{"a":[1,2,{"b":null}]}}`, `{"data_base64":"AAEC"}`,
		`{"client_id":"00000000-0000-4000-8000-000000000000","data":"x"}`,
		`{"client_ids":["00000000-0000-4000-8000-000000000000"],"data":1}`,
		`{"uid":"u","data":"x"}`, `{"uids":["a","b"],"data":"x"}`, `{"groups":["g"],"exclude":[],"data":"x"}`,
		`{"client_id":"00000000-0000-4000-8000-000000000000","code":4000,"reason":"r"}`,
		`{"group":"g"}`, `{`, `[]`, `null`, `{"data":"\ud800"}`, `{"code":1e400}`, `{"data":"x"}{"data":"y"}`,
		"\x00\xff", `{"uid":"` + "\xff" + `"}`,
	}
	for i, body := range seeds {
		f.Add(uint8(i), body, "client_id=00000000-0000-4000-8000-000000000000&limit=5&cursor=")
	}
	f.Add(uint8(0), "", "limit=99999999999999999999&cursor=%ff%00")
	allowed := map[int]bool{200: true, 400: true, 404: true, 405: true, 415: true}
	f.Fuzz(func(t *testing.T, route uint8, body, query string) {
		path := paths[int(route)%len(paths)]
		for _, method := range []string{fasthttp.MethodGet, fasthttp.MethodPost} {
			var ctx fasthttp.RequestCtx
			ctx.Request.Header.SetMethod(method)
			ctx.Request.Header.SetContentType("application/json")
			ctx.Request.Header.SetHost("127.0.0.1:8283")
			ctx.Request.SetRequestURI(path + "?" + query)
			ctx.Request.SetBodyString(body)
			s.Handle(&ctx)
			status := ctx.Response.StatusCode()
			if !allowed[status] {
				t.Fatalf("%s %s %q: status %d", method, path, body, status)
			}
			var out map[string]any
			if err := json.Unmarshal(ctx.Response.Body(), &out); err != nil {
				t.Fatalf("%s %s: answer %q is not a JSON object: %v", method, path, ctx.Response.Body(), err)
			}
			if _, hasErr := out["error"]; hasErr != (status != 200) {
				t.Fatalf("%s %s: status %d with answer %v", method, path, status, out)
			}
		}
	})
}
