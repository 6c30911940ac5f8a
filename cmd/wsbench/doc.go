// Command wsbench load-tests a WebSocket push gateway (wsgate or any other
// WebSocket server) from this machine: connect rate, idle memory per
// connection, broadcast and targeted delivery latency with loss and
// duplicate checks, connection churn, and wsgate's webhooks (a receiver to
// post them to, and inbound messages as webhook events). It is a thin
// wrapper: flags go into a bench.Config and bench.Run does the work.
//
//	wsbench connect -n 15000 -rate 30000
//	wsbench idle -sweep 1000,5000,10000,15000 -duration 10s -json idle.json
//	wsbench broadcast -n 10000 -find-max -report out.html
//	wsbench receiver -receiver 127.0.0.1:9090 -connect-delay 1ms
//	wsbench inbound -receiver 127.0.0.1:9090 -n 1000 -m 600 -msg-rate 60000
//	wsbench report -report all.html results/*.json
//	wsbench listen ws://127.0.0.1:8282/
//
// "wsbench listen" is no load test: one client that prints its id and every
// message pushed to it, to try a gateway with nothing but Go. The load
// harness runs on Linux only; listen runs on every OS.
//
// Run "wsbench -h" for every flag. Ctrl-C stops a run and prints partial
// results (exit status 130). Exit status 2 means bad arguments.
package main
