#!/usr/bin/env bash
# cluster.sh: a local wsgate cluster for trying cluster mode: one NATS server
# (built from the Go module the tests use, so only Go is needed) and three
# wsgate nodes on loopback. Ctrl-C stops everything.
#
#   node  WebSocket               REST API
#   n1    ws://127.0.0.1:8282/    http://127.0.0.1:8283
#   n2    ws://127.0.0.1:8382/    http://127.0.0.1:8383
#   n3    ws://127.0.0.1:8482/    http://127.0.0.1:8483
#   NATS  nats://127.0.0.1:4222
#
# Environment: GO (default go), NATS_PORT (4222), ARGS (extra wsgate flags).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
GO=${GO:-go}
NATS_PORT=${NATS_PORT:-4222}
bin=$(mktemp -d "${TMPDIR:-/tmp}/wsgate-cluster.XXXXXX")
pids=()
cleanup() {
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$bin"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building wsgate and nats-server (from the Go module) into $bin"
(cd "$root" && "$GO" build -o "$bin/wsgate" ./cmd/wsgate && "$GO" build -o "$bin/nats-server" github.com/nats-io/nats-server/v2)

"$bin/nats-server" -a 127.0.0.1 -p "$NATS_PORT" &
pids+=($!)
sleep 0.5
for i in 1 2 3; do
  ws=$((8182 + 100 * i)) api=$((8183 + 100 * i))
  # shellcheck disable=SC2086 # ARGS is a list of flags
  "$bin/wsgate" -nats-url "nats://127.0.0.1:$NATS_PORT" -node-id "n$i" \
    -ws-addr "127.0.0.1:$ws" -api-addr "127.0.0.1:$api" ${ARGS:-} &
  pids+=($!)
  echo "n$i: ws://127.0.0.1:$ws/  http://127.0.0.1:$api"
done
echo "NATS: nats://127.0.0.1:$NATS_PORT"
echo "try: curl -s http://127.0.0.1:8283/cluster/nodes   (Ctrl-C stops everything)"
wait -n "${pids[@]}" || true
echo "cluster.sh: a process exited; stopping the rest" >&2
