#!/usr/bin/env bash
# cluster-loadtest.sh: the cluster numbers of the README on one machine. It
# builds wsgate, wsbench and nats-server (from the Go module), starts NATS and
# NODES wsgate nodes on loopback, and runs:
#   1. idle: CLIENTS clients over every node (clients in -procs processes),
#      memory per connection per node from each node's /stats;
#   2. one 64 B broadcast through node 1's API to all CLIENTS clients;
#   3. /send/client at 1,000 requests/s, same node and across nodes;
#   4. /send/uid through a 3-node cluster with 64 callers.
# Results (text and JSON) go to the results directory. Everything it starts
# is stopped on exit. Loopback only.
#
# Usage: scripts/cluster-loadtest.sh [-o DIR]   (CLIENTS=100000 NODES=6 by default)
set -euo pipefail
results=${RESULTS:-./bench-results/cluster}
[ "${1:-}" = "-o" ] && results=$2
root=$(cd "$(dirname "$0")/.." && pwd)
GO=${GO:-go}
CLIENTS=${CLIENTS:-100000}
NODES=${NODES:-6}
LOCAL_ADDRS=${LOCAL_ADDRS:-127.0.0.2-127.0.0.60}
PROCS=${PROCS:-$(( (CLIENTS + 17999) / 18000 ))}
mkdir -p "$results"
results=$(cd "$results" && pwd)
bin=$(mktemp -d "${TMPDIR:-/tmp}/wsgate-cluster-lt.XXXXXX")
pids=()
cleanup() {
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$bin"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building into $bin"
(cd "$root" && "$GO" build -o "$bin/wsgate" ./cmd/wsgate && "$GO" build -o "$bin/wsbench" ./cmd/wsbench &&
  "$GO" build -o "$bin/nats-server" github.com/nats-io/nats-server/v2)

nats_port=24222
"$bin/nats-server" -a 127.0.0.1 -p "$nats_port" >"$results/nats.log" 2>&1 &
pids+=($!)
ws_urls=() apis=()
for i in $(seq 1 "$NODES"); do
  ws=127.0.0.1:$((29000 + 10 * i)) api=127.0.0.1:$((29001 + 10 * i))
  "$bin/wsgate" -nats-url "nats://127.0.0.1:$nats_port" -node-id "n$i" -ws-addr "$ws" -api-addr "$api" \
    -max-conns 20000 -heartbeat-timeout 300s -cluster-timeout 2s -log-level warn >"$results/n$i.log" 2>&1 &
  pids+=($!)
  ws_urls+=("ws://$ws/") apis+=("$api")
done
all_ws=$(IFS=,; echo "${ws_urls[*]}")
for api in "${apis[@]}"; do # every node serves and sees all the others
  for _ in $(seq 1 100); do
    curl -fsS "http://$api/healthz" 2>/dev/null | grep -q "\"nodes\":$NODES" && break
    sleep 0.2
  done
  curl -fsS "http://$api/healthz"; echo
done

# rss NODE_INDEX: a node's RSS in bytes after a garbage collection.
rss() { curl -fsS "http://${apis[$1]}/stats?gc=1" | sed -E 's/.*"rss_bytes":([0-9]+).*/\1/'; }
conns() { curl -fsS "http://${apis[$1]}/stats" | sed -E 's/.*"connections":([0-9]+).*/\1/'; }

bench() { # NAME ARGS...: one wsbench run
  local name=$1; shift
  echo "== $name: wsbench $*"
  "$bin/wsbench" "$@" -local-addrs "$LOCAL_ADDRS" -json "$results/$name.json" | tee "$results/$name.txt"
}

echo "== memory per connection per node ($CLIENTS clients over $NODES nodes, $PROCS client processes)"
declare -a base
for i in $(seq 0 $((NODES - 1))); do base[$i]=$(rss "$i"); done
"$bin/wsbench" idle -n "$CLIENTS" -procs "$PROCS" -rate 15000 -duration 25s -heartbeat 25s \
  -ws "$all_ws" -api "http://${apis[0]}" -local-addrs "$LOCAL_ADDRS" >"$results/idle.txt" 2>&1 &
idle_pid=$!
for _ in $(seq 1 120); do
  total=0
  for i in $(seq 0 $((NODES - 1))); do total=$((total + $(conns "$i"))); done
  [ "$total" -ge "$CLIENTS" ] && break
  sleep 1
done
sleep 3
{
  echo "node connections rss_before rss_now kib_per_conn"
  for i in $(seq 0 $((NODES - 1))); do
    c=$(conns "$i") r=$(rss "$i")
    echo "n$((i + 1)) $c ${base[$i]} $r $(awk -v a="${base[$i]}" -v b="$r" -v c="$c" 'BEGIN{ if (c>0) printf "%.2f", (b-a)/c/1024; else print "-" }')"
  done
} | tee "$results/memory.txt"
wait "$idle_pid" || true

bench broadcast broadcast -n "$CLIENTS" -procs "$PROCS" -m 1 -size 64 -rate 15000 -ws "$all_ws" -api "http://${apis[0]}"
bench api-same-node api -n 1000 -callers 16 -msg-rate 1000 -duration 10s -ws "${ws_urls[0]}" -api "http://${apis[0]}"
bench api-cross-node api -n 1000 -callers 16 -msg-rate 1000 -duration 10s -ws "${ws_urls[1]}" -api "http://${apis[0]}"
# A 3-node cluster for the uid sends: the other nodes leave (they drain).
for i in $(seq 4 "$NODES"); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
for _ in $(seq 1 100); do
  curl -fsS "http://${apis[0]}/healthz" 2>/dev/null | grep -q '"nodes":3' && break
  sleep 0.2
done
three=$(IFS=,; echo "${ws_urls[*]:0:3}")
bench uids-3-nodes uids -n 6000 -uid-conns 2 -callers 64 -duration 10s -ws "$three" -api "http://${apis[0]}"
echo "results: $results"
