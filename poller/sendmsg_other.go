//go:build !linux

package poller

import "syscall"

// sendFrames is the portable form of the Linux sendmsg path: one write system
// call per frame instead of one per batch, with the same contract. It returns
// the number of bytes written; a short count with a nil error means the socket
// is full (EAGAIN).
func sendFrames(fd int, frames [][]byte) (int, error) {
	total := 0
	for _, f := range frames {
		for len(f) > 0 {
			n, err := syscall.Write(fd, f)
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				return total, nil
			case err != nil:
				return total, err
			}
			total += n
			f = f[n:]
		}
	}
	return total, nil
}
