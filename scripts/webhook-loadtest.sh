#!/usr/bin/env bash
# webhook-loadtest.sh: build wsgate and wsbench, start the harness's webhook
# receiver and two fresh gateways on loopback, one plain and one posting
# every client event (connect, connected, message, disconnected) to the
# receiver, signed with a freshly generated secret, and run, RUNS times
# interleaved:
#   connect-plain    connect without webhooks (the baseline of the same run)
#   connect-hook     connect, each client waiting for the connect webhook
#                    (the receiver answers 204 after 1 ms), plus connected
#                    and disconnected events
#   inbound          clients send texts paced at INBOUND_RATE/s in total;
#                    every one becomes a message event (sustained rate)
#   inbound-burst    clients send texts as fast as they can (the gateway's
#                    webhook queue absorbs what delivery cannot keep up with)
# Results (JSON and tables per run, the receiver's counts, a summary with
# medians, an HTML report) go to the results directory.
#
# Usage: scripts/webhook-loadtest.sh [-o DIR] [-r RUNS] [--quick] [--profile] [-h]
#   -o DIR     results directory (default ./bench-results/webhooks, or $RESULTS)
#   -r RUNS    repetitions of each scenario (default 3; the summary quotes medians)
#   --quick    small sizes, one run (about half a minute): a smoke test
#   --profile  also take a 5 s CPU profile of the webhook gateway (its
#              -pprof-addr) from 1 s into each of its runs, as NAME-N.pprof
#              (needs curl; read with go tool pprof)
#
# Environment: CONNECT_DELAY (default 1ms), INBOUND_RATE (default 60000),
# LOCAL_ADDRS (default 127.0.0.2-127.0.0.20), GO (default go).
#
# Everything it starts is stopped on exit, also on Ctrl-C or failure. All
# traffic stays on 127.0.0.0/8. Exit status: 0 when every run worked, 1 when
# any failed, 2 for bad usage.
set -euo pipefail

results=${RESULTS:-./bench-results/webhooks}
runs=3
quick=0
profile=0
while [ $# -gt 0 ]; do
  case "$1" in
    -o) [ $# -ge 2 ] || { echo "webhook-loadtest.sh: -o needs a directory" >&2; exit 2; }
        results=$2; shift 2 ;;
    -r) [ $# -ge 2 ] && [ "$2" -ge 1 ] 2>/dev/null || { echo "webhook-loadtest.sh: -r needs a count >= 1" >&2; exit 2; }
        runs=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --profile) profile=1; shift ;;
    -h|--help) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "webhook-loadtest.sh: unknown argument '$1' (see -h)" >&2; exit 2 ;;
  esac
done

if [ "$profile" = 1 ] && ! command -v curl >/dev/null 2>&1; then
  echo "webhook-loadtest.sh: --profile needs curl" >&2; exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
GO=${GO:-go}
LOCAL_ADDRS=${LOCAL_ADDRS:-127.0.0.2-127.0.0.20}
CONNECT_DELAY=${CONNECT_DELAY:-1ms}
INBOUND_RATE=${INBOUND_RATE:-60000}
mkdir -p "$results"
results=$(cd "$results" && pwd)
bin=$(mktemp -d "${TMPDIR:-/tmp}/wsgate-webhook-loadtest.XXXXXX")
pids=()      # background processes to stop, in start order
bench_pid=""

# stop PID: SIGINT (wsgate and wsbench both end cleanly on it), then
# SIGKILL after 10 s.
stop() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -INT "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [ -z "$bench_pid" ] || stop "$bench_pid"
  for pid in "${pids[@]}"; do stop "$pid"; done
  rm -rf "$bin"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PROG=webhook-loadtest.sh
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# wait_up NAME PID ADDR PATH: wait (at most 10 s) until GET answers.
wait_up() {
  for i in $(seq 1 100); do
    if http_get "$3" "$4" >/dev/null 2>&1; then return 0; fi
    kill -0 "$2" 2>/dev/null || { echo "webhook-loadtest.sh: $1 exited; see $results/$1.log" >&2; exit 1; }
    [ "$i" -lt 100 ] || { echo "webhook-loadtest.sh: $1 not up after 10 s" >&2; exit 1; }
    sleep 0.1
  done
}

p=$(free_port 28382)
RCV_ADDR=127.0.0.1:$p
PLAIN_WS=127.0.0.1:$(free_port $((p + 1)))
PLAIN_API=127.0.0.1:$(free_port $((p + 2)))
PLAIN_GRPC=127.0.0.1:$(free_port $((p + 3)))
HOOK_WS=127.0.0.1:$(free_port $((p + 4)))
HOOK_API=127.0.0.1:$(free_port $((p + 5)))
HOOK_GRPC=127.0.0.1:$(free_port $((p + 6)))
HOOK_PPROF=127.0.0.1:$(free_port $((p + 7)))
SECRET="whsec_$(head -c 32 /dev/urandom | base64 | tr -d '\n')"

echo "== building into $bin"
(cd "$root" && "$GO" build -o "$bin/wsgate" ./cmd/wsgate && "$GO" build -o "$bin/wsbench" ./cmd/wsbench)

echo "== starting the receiver on http://$RCV_ADDR/ (connect answered after $CONNECT_DELAY)"
"$bin/wsbench" receiver -receiver "$RCV_ADDR" -connect-delay "$CONNECT_DELAY" >"$results/receiver.log" 2>&1 &
pids+=($!)
wait_up receiver "$!" "$RCV_ADDR" /counts

common=(-max-conns 20000 -heartbeat-timeout 120s -log-level warn -max-inbound-rate 0)
echo "== starting wsgate (plain) on ws://$PLAIN_WS/ and wsgate (webhooks) on ws://$HOOK_WS/"
"$bin/wsgate" -ws-addr "$PLAIN_WS" -api-addr "$PLAIN_API" -grpc-addr "$PLAIN_GRPC" "${common[@]}" >"$results/wsgate-plain.log" 2>&1 &
pids+=($!)
wait_up wsgate-plain "$!" "$PLAIN_API" /healthz
"$bin/wsgate" -ws-addr "$HOOK_WS" -api-addr "$HOOK_API" -grpc-addr "$HOOK_GRPC" "${common[@]}" -pprof-addr "$HOOK_PPROF" \
  -webhook-url "http://$RCV_ADDR/webhooks" -webhook-secret "$SECRET" \
  -webhook-events connect,connected,message,disconnected >"$results/wsgate-hook.log" 2>&1 &
hook_pid=$!
pids+=("$hook_pid")
wait_up wsgate-hook "$hook_pid" "$HOOK_API" /healthz

# wait_idle API: wait (at most 30 s) until the gateway holds no clients and
# its webhook queue is empty, so one run's leftovers do not count in the next.
wait_idle() {
  local st
  for _ in $(seq 1 300); do
    st=$(http_get "$1" /stats 2>/dev/null || true)
    if [[ $st == *'"connections":0,'* && $st != *'"queue_bytes":'[1-9]* ]]; then return 0; fi
    sleep 0.1
  done
  echo "webhook-loadtest.sh: warning: $1 still holds clients or queued events after 30 s" >&2
}

# run NAME GATEWAY_WS GATEWAY_API SCENARIO [FLAGS...]: one wsbench run,
# results in NAME.json/.txt.
run() {
  local name=$1 ws=$2 api=$3; shift 3
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "webhook-loadtest.sh: a server died; see $results/*.log" >&2; exit 1; }
  done
  wait_idle "$api"
  echo "== $name: wsbench $*"
  local prof_pid=""
  if [ "$profile" = 1 ] && [ "$api" = "$HOOK_API" ]; then
    (sleep 1; curl -fsS --max-time 20 -o "$results/$name.pprof" "http://$HOOK_PPROF/debug/pprof/profile?seconds=5" || true) &
    prof_pid=$!
  fi
  bench_run "$name" "$ws" "$api" "$@"
  [ -z "$prof_pid" ] || wait "$prof_pid"
}

if [ "$quick" = 1 ]; then
  runs=1 n=2000 senders=200 per=100 burst=50
else
  n=10000 senders=1000 per=$((INBOUND_RATE / 100)) burst=200 # paced: about 10 s of sending
fi

for i in $(seq 1 "$runs"); do
  run "connect-plain-$i" "$PLAIN_WS" "$PLAIN_API" connect -n "$n" -rate 30000
  run "connect-hook-$i" "$HOOK_WS" "$HOOK_API" connect -n "$n" -rate 30000
  run "inbound-$i" "$HOOK_WS" "$HOOK_API" inbound -receiver "$RCV_ADDR" -n "$senders" -m "$per" -size 64 \
    -msg-rate "$INBOUND_RATE" -rate 30000 -drain 10s
  run "inbound-burst-$i" "$HOOK_WS" "$HOOK_API" inbound -receiver "$RCV_ADDR" -n "$senders" -m "$burst" -size 64 \
    -rate 30000 -drain 10s
done
http_get "$RCV_ADDR" /counts >"$results/receiver-counts.json" || true
http_get "$HOOK_API" /stats >"$results/wsgate-hook-stats.json" || true

# median: the median of the numbers on stdin, one a line.
median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

# column PATTERN FIELD FILES...: FIELD (awk $N) of the table row starting with PATTERN, per file.
column() {
  local pattern=$1 field=$2; shift 2
  for f in "$@"; do [ -s "$f" ] && awk -v p="$pattern" -v n="$field" 'index($0, "  " p) == 1 {print $n; exit}' "$f"; done
}

# summarize LABEL PATTERN FIELD PREFIX [SED]: per-run values (edited by the
# sed expression SED) and their median.
summarize() {
  local label=$1 pattern=$2 field=$3 prefix=$4 edit=${5:-} files=() vals
  for i in $(seq 1 "$runs"); do files+=("$results/$prefix-$i.txt"); done
  vals=$(column "$pattern" "$field" "${files[@]}" | tr -d '(,' | sed "$edit" || true)
  printf '%-44s runs: %-32s median: %s\n' "$label" "$(echo $vals)" "$(echo "$vals" | median)"
}

{
  echo "webhook load test, $(date -u +%Y-%m-%dT%H:%M:%SZ), $runs run(s), commit $(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "machine: $(nproc) cores, $(uname -sr), $("$GO" version | cut -d' ' -f3)"
  echo "connect: -n $n -rate 30000; connect webhook delay $CONNECT_DELAY; inbound: $senders clients x $per texts of 64 B at $INBOUND_RATE/s; burst: $senders x $burst unpaced"
  summarize "connect without webhooks, upgrades/s" "upgrades/s" 2 connect-plain
  summarize "  gateway goroutines max while connecting" "server goroutines" 5 connect-plain 's/^.*-//' 
  summarize "  gateway CPU per upgrade, us" "server CPU" 6 connect-plain
  summarize "connect with connect webhook, upgrades/s" "upgrades/s" 2 connect-hook
  summarize "  handshake p99 ms (webhook)" "handshake p50" 9 connect-hook
  summarize "  gateway CPU per upgrade, us" "server CPU" 6 connect-hook
  summarize "  gateway goroutines before" "server goroutines" 3 connect-hook
  summarize "  gateway goroutines max while connecting" "server goroutines" 5 connect-hook 's/^.*-//' 
  summarize "  clients in handshake, max" "server clients in handshake" 7 connect-hook
  summarize "inbound paced: message events/s delivered" "message events received" 9 inbound
  summarize "  sent/s by the clients" "sent" 9 inbound
  summarize "  dropped" "DROPPED" 4 inbound
  summarize "  gateway CPU per event, us" "gateway CPU" 6 inbound
  summarize "inbound burst: message events/s delivered" "message events received" 9 inbound-burst
  summarize "  dropped" "DROPPED" 4 inbound-burst
  summarize "  message events per request" "receiver requests" 4 inbound-burst
  summarize "  gateway CPU per event, us" "gateway CPU" 6 inbound-burst
} | tee "$results/summary.txt"

if [ ${#written[@]} -gt 0 ]; then
  "$bin/wsbench" report -report "$results/report.html" "${written[@]}"
  echo "results: $results (summary.txt, report.html)"
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "webhook-loadtest.sh: failed runs: ${failed[*]}" >&2
  exit 1
fi
