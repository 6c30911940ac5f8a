#!/usr/bin/env bash
# make demo: the chat example (examples/chat) with a gateway, on this machine.
# Builds both (needs only Go), starts them, prints the URL to open and stops
# both on Ctrl-C. Ports: wsgate's defaults (8282, API 127.0.0.1:8283) and
# CHAT_ADDR (127.0.0.1:3000).
set -euo pipefail
cd "$(dirname "$0")/.."

CHAT_ADDR=${CHAT_ADDR:-127.0.0.1:3000}
bin=$(mktemp -d)
pids=()
stop() {
  trap - INT TERM EXIT
  for pid in ${pids[@]+"${pids[@]}"}; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$bin"
}
trap stop INT TERM EXIT

echo "demo: building wsgate and the chat example..."
go build -o "$bin/wsgate" ./cmd/wsgate
go build -o "$bin/chat" ./examples/chat

"$bin/wsgate" -log-level warn &
pids+=($!)
# Wait for the gateway's WebSocket port (bash's /dev/tcp: no curl needed).
for _ in $(seq 100); do
  if (exec 3<>/dev/tcp/127.0.0.1/8282) 2>/dev/null; then break; fi
  kill -0 "${pids[0]}" 2>/dev/null || { echo "demo: wsgate did not start (is port 8282 or 8283 taken?)" >&2; exit 1; }
  sleep 0.1
done

"$bin/chat" -addr "$CHAT_ADDR" &
pids+=($!)

echo
echo "demo: wsgate on ws://127.0.0.1:8282/ (API http://127.0.0.1:8283), chat backend on $CHAT_ADDR"
echo "demo: open http://$CHAT_ADDR/ in two browser windows, join the same room, and chat."
echo "demo: Ctrl-C stops both."
# Poll rather than `wait -n`, which macOS's bash 3.2 lacks.
while kill -0 "${pids[0]}" 2>/dev/null && kill -0 "${pids[1]}" 2>/dev/null; do sleep 1; done
echo "demo: a process exited; stopping the other" >&2
exit 1
