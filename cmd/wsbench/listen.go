package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// listenUsage is the help of "wsbench listen", which is not a load scenario:
// it is one client for trying a gateway by hand, and runs on every OS.
const listenUsage = `usage: wsbench listen [-ping 25s] [ws://127.0.0.1:8282/]

Connects one client, prints its id (the server's first frame), then every
message pushed to it, one per line (binary ones as hex), sending "ping" every
-ping to stay alive, until Ctrl-C or the server closes the connection.
`

// runListen is "wsbench listen": it returns the exit status (0 after Ctrl-C,
// 1 when the connection failed or the server closed it, 2 for bad arguments).
func runListen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wsbench listen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, listenUsage); fs.PrintDefaults() }
	ping := fs.Duration("ping", 25*time.Second, `how often to send "ping" (the gateway closes clients silent for -heartbeat-timeout, 60s)`)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	url := "ws://127.0.0.1:8282/"
	switch fs.NArg() {
	case 0:
	case 1:
		url = fs.Arg(0)
	default:
		fs.Usage()
		return 2
	}
	if *ping <= 0 {
		fmt.Fprintln(stderr, "wsbench listen: -ping must be above 0")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := listen(ctx, url, *ping, stdout); err != nil {
		fmt.Fprintf(stderr, "wsbench listen: %v\n", err)
		return 1
	}
	return 0
}

// listen connects to url and writes to out "client id: ID", then each
// message as a line (text as is, binary as "[binary N bytes] HEX"), sending
// "ping" every pingEvery; the "pong" answers are not printed. It returns nil
// when ctx ends (after sending Close 1000), an error when the dial fails or
// the connection ends (a *websocket.CloseError for the server's Close).
func listen(ctx context.Context, url string, pingEvery time.Duration, out io.Writer) error {
	c, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if err != nil {
		return err
	}
	stopped := context.AfterFunc(ctx, func() {
		c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		c.NetConn().Close() // ends the read below
	})
	defer stopped()

	var pings atomic.Int64 // sent and not answered: that many "pong" frames are answers
	done := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(done); c.Close(); wg.Wait() }()
	wg.Go(func() {
		t := time.NewTicker(pingEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				pings.Add(1)
				if c.WriteMessage(websocket.TextMessage, []byte("ping")) != nil {
					return
				}
			}
		}
	})

	for n := 0; ; n++ {
		op, p, err := c.ReadMessage()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		switch {
		case n == 0:
			fmt.Fprintf(out, "client id: %s\n", p)
		case op == websocket.BinaryMessage:
			fmt.Fprintf(out, "[binary %d bytes] %s\n", len(p), hex.EncodeToString(p))
		case string(p) == "pong" && pings.Load() > 0:
			pings.Add(-1)
		default:
			fmt.Fprintf(out, "%s\n", p)
		}
	}
}
