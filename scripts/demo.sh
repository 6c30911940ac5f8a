#!/usr/bin/env bash
# make demo: the chat example (examples/chat) with a gateway, on this machine.
# Builds both (needs only Go), starts them, prints the URL to open and stops
# both on Ctrl-C. Ports: wsgate's defaults (8282, API 127.0.0.1:8283) and
# CHAT_ADDR (127.0.0.1:3000). wsgate posts its connected and disconnected
# events to the chat (http://CHAT_ADDR/wsgate/events), signed with a secret
# made for this run.
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

# wait_port HOST PORT WHAT: until HOST:PORT accepts (bash's /dev/tcp: no curl
# needed), or the last process started exits.
wait_port() {
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return; fi
    kill -0 "${pids[${#pids[@]}-1]}" 2>/dev/null || { echo "demo: $3 did not start (is port $2 taken?)" >&2; exit 1; }
    sleep 0.1
  done
  echo "demo: $3 is not listening on $1:$2" >&2
  exit 1
}

echo "demo: building wsgate and the chat example..."
go build -o "$bin/wsgate" ./cmd/wsgate
go build -o "$bin/chat" ./examples/chat

# A Standard Webhooks secret, whsec_ + base64 of 32 random bytes; the chat
# gets it through its environment.
secret="whsec_$(head -c 32 /dev/urandom | base64 | tr -d '\n')"

# The chat first, so that wsgate's first webhook (node.started) finds it.
WEBHOOK_SECRET=$secret "$bin/chat" -addr "$CHAT_ADDR" &
pids+=($!)
wait_port "${CHAT_ADDR%:*}" "${CHAT_ADDR##*:}" "the chat"

"$bin/wsgate" -log-level warn \
  -webhook-url "http://$CHAT_ADDR/wsgate/events" -webhook-secret "$secret" \
  -webhook-events connected,disconnected &
pids+=($!)
wait_port 127.0.0.1 8282 "wsgate (port 8282 or 8283)"

echo
echo "demo: wsgate on ws://127.0.0.1:8282/ (API http://127.0.0.1:8283), chat backend on $CHAT_ADDR"
echo "demo: wsgate posts connected/disconnected webhooks to http://$CHAT_ADDR/wsgate/events"
echo "demo: open http://$CHAT_ADDR/ in two browser windows, join the same room, and chat."
echo "demo: Ctrl-C stops both."
# Poll rather than `wait -n`, which macOS's bash 3.2 lacks.
while kill -0 "${pids[0]}" 2>/dev/null && kill -0 "${pids[1]}" 2>/dev/null; do sleep 1; done
echo "demo: a process exited; stopping the other" >&2
exit 1
