//go:build linux

package bench

// seqWindow checks the sequence numbers one client receives on its stream
// for duplicates while tolerating reordering (concurrent API callers can
// deliver s+1 before s): it remembers which of the last windowBits numbers
// below next arrived. 40 bytes, no allocation.
type seqWindow struct {
	next uint32 // one past the highest number seen
	got  uint32 // distinct numbers received (including unverified ones)
	bits [windowBits / 64]uint64
}

const windowBits = 256

// seqResult classifies a received sequence number.
type seqResult uint8

const (
	seqNew seqResult = iota // first receipt
	seqDup                  // received before
	seqOld                  // more than windowBits behind: counted, not checkable
)

// add records the receipt of s.
func (w *seqWindow) add(s uint32) seqResult {
	if s >= w.next {
		if s-w.next >= windowBits {
			w.bits = [windowBits / 64]uint64{}
		} else {
			for q := w.next; q < s; q++ {
				w.bits[q/64%(windowBits/64)] &^= 1 << (q % 64)
			}
		}
		w.next = s + 1
		w.set(s)
		w.got++
		return seqNew
	}
	if w.next-s > windowBits {
		w.got++
		return seqOld
	}
	if w.bits[s/64%(windowBits/64)]&(1<<(s%64)) != 0 {
		return seqDup
	}
	w.set(s)
	w.got++
	return seqNew
}

func (w *seqWindow) set(s uint32) { w.bits[s/64%(windowBits/64)] |= 1 << (s % 64) }
