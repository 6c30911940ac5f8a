//go:build !linux

package main

import (
	"fmt"
	"os"
)

// The load harness drives its clients with raw epoll: it runs on Linux only.
// "wsbench listen" runs everywhere.
func main() {
	if len(os.Args) > 1 && os.Args[1] == "listen" {
		os.Exit(runListen(os.Args[2:], os.Stdout, os.Stderr))
	}
	fmt.Fprintln(os.Stderr, "wsbench: the load harness needs Linux (its client engine is raw epoll); wsbench listen runs here")
	os.Exit(2)
}
