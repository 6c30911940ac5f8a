package connset

import (
	"net"
	"testing"
)

// TestCloseAll: CloseAll closes what is open (not what was closed before)
// and every connection added after it.
func TestCloseAll(t *testing.T) {
	var s Set
	a1, b1 := net.Pipe()
	a2, b2 := net.Pipe()
	defer b1.Close()
	defer b2.Close()
	c1, ok1 := s.Add(a1)
	c2, ok2 := s.Add(a2)
	if !ok1 || !ok2 {
		t.Fatal("Add refused before CloseAll")
	}
	c1.Close()
	if n := s.CloseAll(); n != 1 {
		t.Fatalf("CloseAll closed %d, want the 1 still open", n)
	}
	if _, err := c2.Write([]byte("x")); err == nil {
		t.Fatal("a connection open at CloseAll still writes")
	}
	a3, b3 := net.Pipe()
	defer b3.Close()
	if c, ok := s.Add(a3); ok || c != nil {
		t.Fatal("Add after CloseAll kept the connection")
	}
	if _, err := a3.Write([]byte("x")); err == nil {
		t.Fatal("a connection added after CloseAll is open")
	}
}
