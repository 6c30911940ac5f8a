#!/usr/bin/env bash
# tune-linux.sh: show, and with --apply set, the kernel limits a host needs
# to hold 500,000 WebSocket connections (server and load generator).
#
# Usage: scripts/tune-linux.sh [--apply] [-h]
#   (no flag)  print each setting: current value, recommended value, why.
#              Changes nothing.
#   --apply    set the sysctl values now, never lowering a single-number
#              limit that is already higher (root needed; lost at reboot: put
#              them in /etc/sysctl.d/ to keep them). Per-process open-file
#              limits cannot be set for other processes: see the advice printed.
set -euo pipefail

apply=0
case "${1:-}" in
  "") ;;
  --apply) apply=1 ;;
  -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "tune-linux.sh: unknown argument '$1' (see -h)" >&2; exit 2 ;;
esac

# key|recommended|why
settings=(
  "fs.file-max|2097152|open files for the whole system: every connection is one file on each side"
  "fs.nr_open|2097152|ceiling for a process's open-files limit (RLIMIT_NOFILE); 500k connections need a limit above 500k"
  "net.core.somaxconn|65535|accept queue per listening socket: connect bursts of 15,000+/s overflow a small one and clients wait for SYN retries (1 s, 3 s)"
  "net.ipv4.tcp_max_syn_backlog|65535|half-open connections queued during the handshake, same reason"
  "net.ipv4.ip_local_port_range|1024 65535|ephemeral ports per source address for the load generator (default ~28,000); also use -local-addrs"
  "net.ipv4.tcp_tw_reuse|1|let new outgoing connections reuse ports in TIME_WAIT: churn and repeated runs leave many"
  "net.ipv4.tcp_mem|1048576 1572864 2097152|TCP memory for all sockets, in 4 KiB pages (4, 6, 8 GiB): above the middle value the kernel starts squeezing buffers"
  "net.ipv4.tcp_rmem|4096 16384 4194304|per-socket receive buffer min/default/max: a small default keeps idle sockets cheap, autotuning grows busy ones"
  "net.ipv4.tcp_wmem|4096 16384 4194304|per-socket send buffer min/default/max, same reasoning for the push side"
  "net.netfilter.nf_conntrack_max|1048576|connection-tracking entries (only when the conntrack module is loaded): a full table drops new connections"
)

if [ "$apply" = 1 ] && [ "$(id -u)" != 0 ]; then
  echo "tune-linux.sh: --apply needs root" >&2
  exit 1
fi

printf '%-32s %-26s %-26s %s\n' "setting" "current" "recommended" "why"
for s in "${settings[@]}"; do
  IFS='|' read -r key want why <<<"$s"
  cur=$(sysctl -n "$key" 2>/dev/null | tr -s '\t ' ' ' || true)
  [ -n "$cur" ] || cur="(not available)"
  printf '%-32s %-26s %-26s %s\n' "$key" "$cur" "$want" "$why"
  if [ "$apply" = 1 ]; then
    if [[ "$key" != *tw_reuse && "$cur" =~ ^[0-9]+$ && "$want" =~ ^[0-9]+$ ]] && [ "$cur" -ge "$want" ]; then
      echo "  kept: $key is already at least $want"
    elif [ "$cur" = "(not available)" ]; then
      echo "  skipped: $key does not exist here (module not loaded or not in this namespace)"
    elif ! sysctl -q -w "$key=$want"; then
      echo "  could not set $key (read-only in this namespace?)" >&2
    fi
  fi
done

soft=$(ulimit -Sn)
hard=$(ulimit -Hn)
printf '%-32s %-26s %-26s %s\n' "ulimit -n (this shell)" "soft $soft, hard $hard" "1048576" \
  "open files per process; wsbench raises its soft limit to the hard one, and -procs splits clients over processes when the hard limit is low"
cat <<'ADVICE'

The open-files limit is per process and inherited: raise it where the gateway
starts, e.g. "LimitNOFILE=1048576" in a systemd unit, "nofile" lines in
/etc/security/limits.conf for login sessions, or "ulimit -n 1048576" (as root)
in the shell that starts it. Make sysctl values permanent in a file under
/etc/sysctl.d/ and run "sysctl --system".
ADVICE
if [ "$apply" = 0 ]; then
  echo "Nothing was changed. Run with --apply (as root) to set the sysctl values."
fi
