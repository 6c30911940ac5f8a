//go:build !linux

package main

import (
	"fmt"
	"os"
)

// The load harness drives its clients with raw epoll: it runs on Linux only.
func main() {
	fmt.Fprintln(os.Stderr, "wsbench: the load harness needs Linux (its client engine is raw epoll)")
	os.Exit(2)
}
