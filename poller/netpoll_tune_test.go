package poller

import (
	"reflect"
	"syscall"
	"testing"
)

// TestTrimBarriersApplies fails when a netpoll upgrade changes the barrier
// layout, which would silently cost every idle connection about 1.2 KiB.
func TestTrimBarriersApplies(t *testing.T) {
	if !trimBarriers() {
		t.Fatal("netpoll's barrier no longer matches barrierLayout: update netpoll_tune.go")
	}
	v := netpollBarrierPool.New() // Get may return a barrier made before the trim
	b := (*barrierLayout)(reflect.ValueOf(v).UnsafePointer())
	if len(b.bs) != barrierIovecs || len(b.ivs) != barrierIovecs {
		t.Fatalf("new barriers have %d/%d iovecs, want %d", len(b.bs), len(b.ivs), barrierIovecs)
	}
}

func TestSameLayout(t *testing.T) {
	type other struct {
		bs  [][]byte
		ivs []syscall.Iovec
		x   int
	}
	type renamed struct {
		b   [][]byte
		ivs []syscall.Iovec
	}
	want := reflect.TypeFor[barrierLayout]()
	for _, tt := range []struct {
		name string
		typ  reflect.Type
		same bool
	}{
		{"identical", want, true},
		{"extra field", reflect.TypeFor[other](), false},
		{"renamed field", reflect.TypeFor[renamed](), false},
		{"not a struct", reflect.TypeFor[int](), false},
	} {
		if got := sameLayout(tt.typ, want); got != tt.same {
			t.Errorf("%s: sameLayout = %v, want %v", tt.name, got, tt.same)
		}
	}
}
