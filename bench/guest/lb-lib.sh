#!/bin/sh
# Helpers of the lb benchmark's in-guest drivers (sourced by lb-conns.sh,
# lb-side.sh, lb-ctl.sh and lb-peer.sh): the kernel's and haproxy's
# counters, read the same way by the one-VM rig and the split rig.
# shellcheck disable=SC2034
cfg=/etc/haproxy/haproxy.cfg
note() { echo "BENCH-NOTE $*"; }
sockstat() { awk -v k="$1" '$1=="TCP:" {for (i=2;i<NF;i+=2) if ($i==k) print $(i+1)}' /proc/net/sockstat; }
meminfo() { awk -v k="$1:" '$1==k {print $2}' /proc/meminfo; }
cpu_ticks() { awk '$1=="cpu" {b=$2+$3+$4+$7+$8+$9; print b, b+$5+$6}' /proc/stat; }   # busy total
haproxy_pids() { pidof haproxy 2>/dev/null; }
haproxy_rss_kb() { s=0; for p in $(haproxy_pids); do r=$(awk '$1=="VmRSS:"{print $2}' /proc/$p/status 2>/dev/null); s=$((s + ${r:-0})); done; echo $s; }
# hacmd CMD: haproxy's answer on its stats socket (admin level; socat waits
# up to 20 s for it: its 0.5 s default loses it under TCG)
hacmd() { echo "$1" | socat -t 20 stdio /run/haproxy/admin.sock 2>/dev/null; }
# hastat ROW COLUMN: a field of the mqtt proxy's "show stat" row: peak
# sessions (FRONTEND 6, smax), upstream connect errors (BACKEND 14, econ)
# and retries (BACKEND 16, wretr)
hastat() { hacmd "show stat" | awk -F, -v s="$1" -v c="$2" '$1=="mqtt" && $2==s {print $c; exit}'; }
# counter_delta NOW BEFORE: a counter's growth over a run; nothing when either
# reading is missing, or when it went down (haproxy restarted its counters)
counter_delta() {
  case "$1" in ''|*[!0-9]*) return ;; esac
  case "$2" in ''|*[!0-9]*) return ;; esac
  [ "$1" -ge "$2" ] && echo $(($1 - $2))
}
haproxy_cpu_ticks() { s=0; for p in $(haproxy_pids); do t=$(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null); s=$((s + ${t:-0})); done; echo $s; }
# TcpExt counters that end or refuse connections, as "name value" lines
tcpext() { awk '$1=="TcpExt:" && !h {for (i=2;i<=NF;i++) k[i]=$i; h=1; next}
  $1=="TcpExt:" {for (i=2;i<=NF;i++) if (k[i] ~ /^(TCPAbortOnMemory|TCPAbortOnTimeout|TCPAbortOnClose|TCPAbortOnData|TCPAbortFailed|ListenOverflows|ListenDrops|TCPMemoryPressures|TCPRcvQDrop|PruneCalled|TCPBacklogDrop|TCPTimeouts)$/) print k[i], $i}' /proc/net/netstat
  # softnet_stat's second column (hex): packets dropped at a full backlog, per CPU (mawk: no strtonum)
  awk '{v = 0; for (i = 1; i <= length($2); i++) v = v * 16 + index("0123456789abcdef", substr($2, i, 1)) - 1; d += v}
       END {print "SoftnetDropped", d + 0}' /proc/net/softnet_stat; }
# tcpext_delta BEFORE_FILE: {"name":delta,...}
tcpext_delta() { tcpext | awk 'NR==FNR {b[$1]=$2; next} {printf "%s\"%s\":%d", (n++ ? "," : "{"), $1, $2 - b[$1]} END {print "}"}' "$1" -; }
# haproxy's log from $1 to $2 (epoch s): termination states of the mqtt
# proxy's sessions that ended during the run (not those the generator's
# exit closes), and watchdog aborts
haproxy_states() { journalctl -q -o cat --since "@$1" --until "@$2" -u haproxy 2>/dev/null |
  awk '$4 ~ /^mqtt\// && length($7) == 2 {c[$7]++} / is about to kill the process/ {w++}
       END {printf "{"; for (k in c) printf "%s\"%s\":%d", (n++ ? "," : ""), k, c[k]; printf "},\"haproxy_watchdog_kills\":%d", w}'; }
haproxy_restarts() { systemctl show -p NRestarts --value haproxy 2>/dev/null || echo 0; }
# ports connect() may take in [lo, hi]: the range minus ip_local_reserved_ports
usable_ports() { awk -v lo="$1" -v hi="$2" 'BEGIN {n = hi - lo + 1}
  {m = split($0, r, ","); for (i = 1; i <= m; i++) { if (r[i] == "") continue; split(r[i], ab, "-"); a = ab[1]; b = (ab[2] == "" ? a : ab[2]);
     if (a < lo) a = lo; if (b > hi) b = hi; if (b >= a) n -= b - a + 1 } }
  END {print n}' /proc/sys/net/ipv4/ip_local_reserved_ports; }
# haproxy_procs: the master and its workers (a worker is "old" once a reload
# started a newer one, and it lives as long as a session it holds)
haproxy_procs() { haproxy_pids | wc -w; }
# mqtt_servers: the "listen mqtt" servers as "name address:port" lines
mqtt_servers() { awk '/^listen /{m=($2=="mqtt")} m && $1=="server" {print $2, $3}' $cfg; }
# server_totals: the mqtt servers' session totals since haproxy's
# (current worker's) start, as JSON members "name":stot
server_totals() { hacmd "show stat" |
  awk -F, '$1=="mqtt" && $2!="FRONTEND" && $2!="BACKEND" {printf "%s\"%s\":%d", (n++ ? "," : ""), $2, $8}'; }
# gauges: what the split rig's lb samples and marks both carry, as JSON
# members: sockets, memory, CPU ticks (busy, total), haproxy's RSS, CPU
# ticks and processes
# shellcheck disable=SC2046 # word splitting of $(cpu_ticks) is meant
gauges() {
  set -- $(cpu_ticks)
  printf '"inuse":%s,"tw":%s,"slab_kb":%s,"tcp_mem_pages":%s,"mem_available_kb":%s,"cpu_busy":%s,"cpu_total":%s,"haproxy_rss_kb":%s,"haproxy_cpu_ticks":%s,"haproxy_procs":%s' \
    "$(sockstat inuse)" "$(sockstat tw)" "$(meminfo Slab)" "$(sockstat mem)" "$(meminfo MemAvailable)" "$1" "$2" \
    "$(haproxy_rss_kb)" "$(haproxy_cpu_ticks)" "$(haproxy_procs)"
}
