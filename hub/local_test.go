package hub_test

import (
	"context"
	"errors"
	"testing"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/registry"
	"github.com/wsgate/wsgate/wsframe"
)

type fakeConn struct{ id string }

func (c fakeConn) ID() string                  { return c.id }
func (c fakeConn) RemoteAddr() string          { return "127.0.0.1:1" }
func (c fakeConn) Send(*wsframe.Frame) bool    { return true }
func (c fakeConn) Close(code uint16, _ string) {}

// TestLocalErrors checks that Local answers with the hub's errors, whatever
// the registry calls them, and that empty answers are empty lists, not nil.
func TestLocalErrors(t *testing.T) {
	reg, err := registry.New[*wsframe.Frame](registry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	const id, unknown = "c1", "nobody"
	if err := reg.Add(fakeConn{id}); err != nil {
		t.Fatal(err)
	}
	h, ctx := hub.NewLocal(reg), context.Background()
	_, infoErr := h.ClientInfo(ctx, unknown)
	_, listErr := h.ClientList(ctx, "not-a-cursor", 10)
	_, uidListErr := h.UIDList(ctx, "%%%", 10)
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"BindUID unknown", h.BindUID(ctx, unknown, "u"), hub.ErrNotFound},
		{"UnbindUID unknown", h.UnbindUID(ctx, unknown), hub.ErrNotFound},
		{"JoinGroups unknown", h.JoinGroups(ctx, unknown, []string{"g"}), hub.ErrNotFound},
		{"LeaveGroups unknown", h.LeaveGroups(ctx, unknown, []string{"g"}), hub.ErrNotFound},
		{"CloseClient unknown", h.CloseClient(ctx, unknown, 1000, ""), hub.ErrNotFound},
		{"ClientInfo unknown", infoErr, hub.ErrNotFound},
		{"BindUID empty uid", h.BindUID(ctx, id, ""), hub.ErrInvalid},
		{"JoinGroups empty group", h.JoinGroups(ctx, id, []string{""}), hub.ErrInvalid},
		{"ClientList bad cursor", listErr, hub.ErrBadCursor},
		{"UIDList bad cursor", uidListErr, hub.ErrBadCursor},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	info, err := h.ClientInfo(ctx, id)
	if err != nil || info.Groups == nil || info.ClientID != id {
		t.Errorf("ClientInfo: %+v, %v; want c1 with an empty, non-nil group list", info, err)
	}
	names, err := h.UIDClients(ctx, "none")
	if err != nil || names.Names == nil || names.Partial {
		t.Errorf("UIDClients of an unknown uid: %+v, %v; want an empty, whole list", names, err)
	}
	p, err := h.GroupList(ctx, "", 0)
	if err != nil || p.Items == nil || p.Next != "" {
		t.Errorf("GroupList: %+v, %v; want an empty last page", p, err)
	}
}

// TestSession: replace, merge (a null removes a key), clear, the size
// limit, and bad input, each leaving the session as it was on error.
func TestSession(t *testing.T) {
	reg, err := registry.New[*wsframe.Frame](registry.Config{MaxSessionBytes: 40})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Add(fakeConn{"c1"}); err != nil {
		t.Fatal(err)
	}
	h, ctx := hub.NewLocal(reg), context.Background()
	steps := []struct {
		session string
		merge   bool
		err     error
		want    string
	}{
		{`{ "b": 1, "a": {"x": [1, 2]} }`, false, nil, `{"b":1,"a":{"x":[1,2]}}`},
		{`{"c":"z","b":null}`, true, nil, `{"a":{"x":[1,2]},"c":"z"}`},
		{`{"d":"` + string(make([]byte, 40)) + `"}`, true, hub.ErrInvalid, `{"a":{"x":[1,2]},"c":"z"}`}, // control bytes: not JSON
		{`{"d":"0123456789012345678901234567890"}`, true, hub.ErrTooLarge, `{"a":{"x":[1,2]},"c":"z"}`},
		{`[1]`, false, hub.ErrInvalid, `{"a":{"x":[1,2]},"c":"z"}`},
		{`"s"`, true, hub.ErrInvalid, `{"a":{"x":[1,2]},"c":"z"}`},
		{`{"a":null,"c":null}`, true, nil, ``},
		{`{"k":1}`, false, nil, `{"k":1}`},
		{`{}`, false, nil, ``},
	}
	for i, s := range steps {
		err := h.SetSession(ctx, "c1", []byte(s.session), s.merge)
		if !errors.Is(err, s.err) || (s.err == nil) != (err == nil) {
			t.Fatalf("step %d: SetSession(%s, merge=%v) = %v, want %v", i, s.session, s.merge, err, s.err)
		}
		info, err := h.ClientInfo(ctx, "c1")
		if err != nil || string(info.Session) != s.want {
			t.Fatalf("step %d: session %s (%v), want %s", i, info.Session, err, s.want)
		}
	}
	if err := h.SetSession(ctx, "nobody", []byte(`{}`), false); !errors.Is(err, hub.ErrNotFound) {
		t.Fatalf("unknown client: %v", err)
	}
}
