#!/usr/bin/env bash
# loadtest.sh: build wsgate and wsbench, start a fresh gateway on loopback,
# run the standard load-test suite at sizes that fit a 2-core machine with a
# 20,000 open-files limit per process, and write every result (JSON and the
# human tables) plus one HTML report into the results directory.
#
# Usage: scripts/loadtest.sh [-o DIR] [--quick] [-h]
#   -o DIR    results directory (default ./bench-results, or $RESULTS)
#   --quick   small sizes (about a minute): a smoke test of the suite
#
# Environment: WS_ADDR, API_ADDR, GRPC_ADDR (default: free ports from 127.0.0.1:28282 up),
# LOCAL_ADDRS (default 127.0.0.2-127.0.0.20: source addresses for clients),
# GO (default go).
#
# Everything it starts (the gateway, wsbench and its children) is stopped on
# exit, also on Ctrl-C or failure. All traffic stays on 127.0.0.0/8.
# Exit status: 0 when every scenario ran, 1 when any failed, 2 for bad usage.
set -euo pipefail

results=${RESULTS:-./bench-results}
quick=0
while [ $# -gt 0 ]; do
  case "$1" in
    -o) [ $# -ge 2 ] || { echo "loadtest.sh: -o needs a directory" >&2; exit 2; }
        results=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "loadtest.sh: unknown argument '$1' (see -h)" >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
GO=${GO:-go}
LOCAL_ADDRS=${LOCAL_ADDRS:-127.0.0.2-127.0.0.20}
mkdir -p "$results"
results=$(cd "$results" && pwd)
bin=$(mktemp -d "${TMPDIR:-/tmp}/wsgate-loadtest.XXXXXX")
gw_pid=""
bench_pid=""

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$bench_pid" ] && kill -0 "$bench_pid" 2>/dev/null; then
    kill -INT "$bench_pid" 2>/dev/null || true
    wait "$bench_pid" 2>/dev/null || true
  fi
  if [ -n "$gw_pid" ] && kill -0 "$gw_pid" 2>/dev/null; then
    kill -TERM "$gw_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$gw_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$gw_pid" 2>/dev/null || true
    wait "$gw_pid" 2>/dev/null || true
  fi
  rm -rf "$bin"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PROG=loadtest.sh
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

WS_ADDR=${WS_ADDR:-127.0.0.1:$(free_port 28282)}
API_ADDR=${API_ADDR:-127.0.0.1:$(free_port $(( ${WS_ADDR##*:} + 1 )))}
GRPC_ADDR=${GRPC_ADDR:-127.0.0.1:$(free_port $(( ${API_ADDR##*:} + 1 )))}

echo "== building into $bin"
(cd "$root" && "$GO" build -o "$bin/wsgate" ./cmd/wsgate && "$GO" build -o "$bin/wsbench" ./cmd/wsbench)

echo "== starting wsgate on ws://$WS_ADDR/ (API http://$API_ADDR, gRPC $GRPC_ADDR)"
"$bin/wsgate" -ws-addr "$WS_ADDR" -api-addr "$API_ADDR" -grpc-addr "$GRPC_ADDR" -max-conns 20000 \
  -heartbeat-timeout 120s -log-level warn >"$results/wsgate.log" 2>&1 &
gw_pid=$!
for i in $(seq 1 100); do
  if http_get "$API_ADDR" /healthz >/dev/null 2>&1; then break; fi
  kill -0 "$gw_pid" 2>/dev/null || { echo "loadtest.sh: wsgate exited; see $results/wsgate.log" >&2; exit 1; }
  [ "$i" -lt 100 ] || { echo "loadtest.sh: wsgate not healthy after 10 s" >&2; exit 1; }
  sleep 0.1
done

# wait_idle: wait (at most 30 s) until the gateway holds no clients, so one
# scenario's closing connections do not count in the next one.
wait_idle() {
  for _ in $(seq 1 300); do
    case "$(http_get "$API_ADDR" /client/count 2>/dev/null || true)" in
      *'"count":0'*) return 0 ;;
    esac
    sleep 0.1
  done
  echo "loadtest.sh: warning: the gateway still holds clients after 30 s" >&2
}

# run NAME SCENARIO [FLAGS...]: one wsbench run, results in NAME.json/.txt.
run() {
  local name=$1; shift
  kill -0 "$gw_pid" 2>/dev/null || { echo "loadtest.sh: wsgate died; see $results/wsgate.log" >&2; exit 1; }
  wait_idle
  echo "== $name: wsbench $*"
  bench_run "$name" "$WS_ADDR" "$API_ADDR" "$@"
}

if [ "$quick" = 1 ]; then
  n=1000 big=2000 sweep=200,500,1000 hold=2s dur=3s step=2s
else
  n=10000 big=15000 sweep=1000,5000,10000,15000 hold=10s dur=10s step=5s
fi

# Idle first: its baseline needs a server that has not served load yet.
run idle idle -sweep "$sweep" -duration "$hold" -rate 30000
run connect connect -n "$big" -rate 30000
run broadcast-one broadcast -n "$big" -m 1 -size 64 -rate 30000
run broadcast broadcast -n "$big" -m 20 -msg-rate 5 -size 64 -rate 30000
run find-max broadcast -n "$n" -find-max -step "$step" -rate 30000
run groups groups -n "$n" -group-size 100 -callers 64 -duration "$dur" -rate 30000
run uids uids -n "$n" -uid-conns 2 -callers 64 -duration "$dur" -rate 30000
run api api -n 1000 -callers 64 -duration "$dur" -rate 30000
run api-grpc api -n 1000 -callers 64 -duration "$dur" -rate 30000 -grpc "$GRPC_ADDR"
run churn churn -n $((n / 2)) -churners $((n / 5)) -churn-rate 1000 -duration "$dur" -rate 30000

echo "== report"
if [ ${#written[@]} -gt 0 ]; then
  "$bin/wsbench" report -report "$results/report.html" "${written[@]}"
  echo "results: $results (report: $results/report.html)"
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "loadtest.sh: failed scenarios: ${failed[*]}" >&2
  exit 1
fi
