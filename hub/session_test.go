package hub_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/registry"
	"github.com/wsgate/wsgate/wsframe"
)

// TestMergeKeepsTheBytes: a merge keeps the values it does not touch byte
// for byte (no HTML escaping of <, > and &), so a merge that adds a small
// key to a session that fits is not refused as too large.
func TestMergeKeepsTheBytes(t *testing.T) {
	reg, err := registry.New[*wsframe.Frame](registry.Config{MaxSessionBytes: 256})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Add(fakeConn{"c1"}); err != nil {
		t.Fatal(err)
	}
	l := hub.NewLocal(reg)
	ctx := context.Background()
	name := `{"name":"` + strings.Repeat("<&>", 60) + `"}` // 191 bytes
	if err := l.SetSession(ctx, "c1", []byte(name), false); err != nil {
		t.Fatal(err)
	}
	if err := l.SetSession(ctx, "c1", []byte(`{"n":1}`), true); err != nil {
		t.Fatalf("merging 5 bytes into a 191-byte session (limit 256): %v", err)
	}
	info, _ := l.ClientInfo(ctx, "c1")
	if want := `{"n":1,"name":"` + strings.Repeat("<&>", 60) + `"}`; string(info.Session) != want {
		t.Fatalf("session after the merge: %s, want %s", info.Session, want)
	}
}
