//go:build linux

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/wsgate/wsgate/bench"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "listen" {
		os.Exit(runListen(os.Args[2:], os.Stdout, os.Stderr))
	}
	if bench.IsChild() {
		if err := bench.RunChild(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "wsbench child:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cfg, err := bench.ParseArgs(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		bench.Usage(os.Stdout)
		return 0
	case err != nil:
		fmt.Fprintf(os.Stderr, "wsbench: %v\n(run wsbench -h for usage)\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills at once
	}()
	res, err := bench.Run(ctx, cfg, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, bench.ErrUsage):
		fmt.Fprintf(os.Stderr, "wsbench: %v\n(run wsbench -h for usage)\n", err)
		return 2
	case err != nil:
		fmt.Fprintf(os.Stderr, "wsbench: %v\n", err)
		return 1
	case res != nil && res.Interrupted:
		return 130
	}
	return 0
}
