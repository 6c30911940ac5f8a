# lib.sh: shell helpers the load-test scripts share; source it. Callers set
# PROG (their name, for messages).

# port_free PORT: true when nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port START: the first free port from START (at most 200 tries),
# skipping ports this script already handed out.
taken=" "
free_port() {
  local p=$1
  for _ in $(seq 1 200); do
    if [[ $taken != *" $p "* ]] && port_free "$p"; then taken="$taken$p "; echo "$p"; return 0; fi
    p=$((p + 1))
  done
  echo "$PROG: no free port from $1" >&2
  return 1
}

# http_get ADDR PATH: GET http://ADDR/PATH (curl when present, else bash's /dev/tcp).
http_get() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 5 "http://$1$2"
  else
    local host=${1%:*} port=${1##*:}
    exec 3<>"/dev/tcp/$host/$port" || return 1
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$2" "$1" >&3
    timeout 5 cat <&3 | sed '1,/^\r$/d'
    exec 3<&-
  fi
}

# bench_run NAME WS API SCENARIO [FLAGS...]: one wsbench run ($bin/wsbench,
# sources $LOCAL_ADDRS) against ws://WS/ and http://API, results in
# $results/NAME.json and .txt; the .json joins written, a failure joins
# failed. bench_pid is set while it runs, for the caller's cleanup.
failed=()
written=()
bench_run() {
  local name=$1 ws=$2 api=$3; shift 3
  rm -f "$results/$name.json" "$results/$name.txt"
  set +e
  "$bin/wsbench" "$@" -ws "ws://$ws/" -api "http://$api" -local-addrs "$LOCAL_ADDRS" \
    -json "$results/$name.json" >"$results/$name.txt" &
  bench_pid=$!
  wait "$bench_pid"
  local status=$?
  bench_pid=""
  set -e
  cat "$results/$name.txt"
  [ ! -s "$results/$name.json" ] || written+=("$results/$name.json")
  if [ "$status" -ne 0 ]; then
    echo "$PROG: $name failed (exit $status)" >&2
    failed+=("$name")
  fi
}
