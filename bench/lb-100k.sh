#!/usr/bin/env bash
# bench/lb-100k.sh [--quick]: the lb (HAProxy) at 100,000 MQTT connections.
#
# HAProxy opens one upstream socket per client, and each takes an ephemeral
# port per (source, backend address, backend port): capacity = backends x
# port-range size. Three verne backends with Linux's default range
# (32768-60999, 28,232 ports) cap at 84,696; the lb role's 1024-65535 less
# its 8 reserved listen ports at 193,512 (then haproxy.cfg's maxconn 100000,
# docs/dojot-v0.5.0.md#haproxy, is the limit). bench/selftest.sh proves the formula natively.
#
# Two rigs (BENCH_LB_RIG):
#   split (default): the lb VM (out/bookworm/lb with the example seed,
#     unchanged, at its seed's address 192.168.0.20) and a peer VM on the
#     harness's private network (qemu-tests/lib.sh qt_net_up). The peer
#     (the lb image with a seed of its own, its haproxy stopped;
#     bench/guest/lb-peer.sh) holds the devices (mqtt-load from 8 addresses
#     of its own) and answers as the seed's three verne backends
#     (mqtt-sink on NodePort 30004). The lb's kernel then carries haproxy's
#     two sockets per connection only, as a real lb does; its in-guest
#     driver (bench/guest/lb-side.sh) samples it every 5 s and answers the
#     peer's control requests (bench/guest/lb-ctl.sh): each run's port range
#     and marks, and the reloads. After the runs, with BENCH_LB_RELOAD_N
#     connections held, the lb applies a changed seed BENCH_LB_RELOADS times
#     through its agent (`node-agent run --seed`: a fourth backend added,
#     then removed, ...): held connections before and after each, drops,
#     where new connections go, haproxy's old workers over time.
#   single: the one-VM rig of the earlier record (bench/guest/lb-conns.sh):
#     generator, haproxy and sinks in one VM on its loopback, 4 sockets per
#     connection in one kernel; kept to compare with that record.
# Each run names its range: tuned (the role's) or stock (Linux's default
# set back in the lb, the comparison).
#
#   --quick: 30 s hold; split: N = 100,000 with the role's range, 2
#            reloads at 20,000 held; single: N = 100,000 with each range
#   full:    300 s hold at 100k tuned (others 60 s); split: N = 100k with
#            the role's range, 10 reloads at 100,000 held; single: N =
#            50k, 100k, 150k with each range
# Environment: BENCH_LB_RUNS ("tuned:N stock:N ..."), BENCH_LB_HOLD,
# BENCH_LB_RATE (connects/s asked of the generator: split 300, single
# 1000), BENCH_LB_INFLIGHT (connects in flight at most: split 200, single
# 1000), BENCH_LB_KEEPALIVE (120: a PINGREQ
# every 60 s per connection, what a device with MQTT's usual 60 s keepalive
# sends when idle), BENCH_MEM (MiB, the lb VM: split 8192; single 12288
# quick, 16384 full), BENCH_SMP (the lb VM's vCPUs: split 1, single 2), BENCH_PEER_MEM
# (8192), BENCH_PEER_SMP (1), BENCH_LB_RELOADS (10; quick 2),
# BENCH_LB_RELOAD_N (100000; quick 20000), BENCH_LB_NEW (400: new
# connections after each reload), BENCH_LB_TAP_QLEN (10000: the split
# rig's taps' queues toward the guests; the kernel's default 1,000 dropped
# millions of packets at 100k). A guest whose virtio-net transmit queue
# stalls (NETDEV WATCHDOG in its console) ends the run at once, as a rig
# failure: it did so at ~97k in both VMs of the first runs (with and
# without tap drops). BENCH_LB_NIC_OPTS (event_idx=off): the split rig's
# virtio-net-pci properties (QT_NIC_OPTS). BENCH_LB_LOGS=DIR: no VM, the split
# rig's analysis again over the probe logs of an earlier run (DIR: its
# bench/out/qemu); recorded only with BENCH_RECORD=1, marked from_logs.
# BENCH_LB_RETRY (connect attempts per connection at most, 1: none
# repeated): devices reconnect after a connect that failed (paho and the
# like, with a backoff), so a connect refused at one moment of the ramp
# need not be a device lost; mqtt-load -R, its backoff BENCH_LB_BACKOFF
# (the first, in s: 1) doubling up to 30 s. A drop (a connection ended
# after its CONNACK) is never reconnected: it stays a drop. The result
# says how many needed a retry; the goal line names the retries.
# BENCH_LB_SYSCTL ("key=value ...", no spaces in a value): kernel settings
# the driver applies in the guest before the runs, for a diagnostic run
# (e.g. net.core.netdev_max_backlog=10000: the loopback backlog, whose
# drops softnet_stat counts); recorded in the env line as harness_sysctl
# and named in the goal line, since the role did not set them.
# Writes bench/out/lb-100k.json (and, for a full run, bench/results/).
#
# Memory (single): this one VM carries 4 sockets per connection (generator, haproxy
# x2, sink), ~16 KB of slab each (README: measured natively), and the
# kernel's TCP buffer limit tcp_mem is sized from RAM at boot (9.4 % of it
# at most). At 6 GiB, 100k connections under TCG ran past tcp_mem
# ("TCP: out of memory"); 12 GiB doubles the limit, 16 GiB gives 150k room.
# Memory (split): each VM carries 2 sockets per connection, so 8 GiB gives
# each the room 16 GiB gave the single rig's 4; both VMs together need
# 16 GiB of the host's 24.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ "${1:-}" = --quick ] && BENCH_QUICK=1
cd "$BENCH_REPO" || exit 1
if [ "$BENCH_QUICK" = 1 ]; then hold=${BENCH_LB_HOLD:-30} long=""
else hold=${BENCH_LB_HOLD:-60} long="tuned:100000:300"; fi
# settle: under TCG the ramp can lag the asked rate by minutes (SYN retries)
settle=${BENCH_LB_SETTLE:-300} tap_qlen=${BENCH_LB_TAP_QLEN:-10000} nic_opts=${BENCH_LB_NIC_OPTS-event_idx=off}
keepalive=${BENCH_LB_KEEPALIVE:-120}
retry=${BENCH_LB_RETRY:-1} backoff=${BENCH_LB_BACKOFF:-1} sysctls=${BENCH_LB_SYSCTL:-}
if ! [[ $retry =~ ^[1-9][0-9]{0,4}$ ]] || [ "$retry" -gt 65535 ]; then bench_die "BENCH_LB_RETRY: 1..65535 connect attempts, not '$retry'"; fi
if ! [[ $backoff =~ ^[0-9]+(\.[0-9]+)?$ ]] || [[ $backoff =~ ^0+(\.0+)?$ ]]; then bench_die "BENCH_LB_BACKOFF: seconds > 0, not '$backoff'"; fi
for kv in $sysctls; do
  # the guest writes these into a JSON line: names and plain values only
  [[ $kv =~ ^[A-Za-z0-9_.-]+=[A-Za-z0-9_.:,/+-]+$ ]] || bench_die "BENCH_LB_SYSCTL: '$kv' is not key=value"
done
# inflight: at most this many connects in flight, so that the generator
# follows the proxy's pace instead of overflowing its accept queue (SYN
# retries that run out would count as the proxy's failures).
# The split rig's defaults are the only ones it completed with on a 2-core
# TCG host (README, attempts 1-3): one vCPU per VM, as the host has one
# core per VM; 300 connects/s, 200 in flight. With 2 + 1 vCPUs and 1,000/s
# the peer's transmit queue stalled and the taps dropped millions.
# The split rig runs the goal's N with the role's range only: with the
# stock range its lb (one emulated vCPU) was 100 % busy and its ramp fell
# to ~2 connects/s at 70k (ports 82 % used: each connect() searches the
# range for a free port), past the run's time limit. The stock range's
# cap (84,696) is shown by the single rig and, natively, by selftest;
# BENCH_LB_RUNS=stock:100000 still asks for it.
rig=${BENCH_LB_RIG:-split}
case $rig in
  split) [ -z "$sysctls" ] || bench_die "BENCH_LB_SYSCTL is for BENCH_LB_RIG=single (the split rig's lb runs as the role configured it)"
         runs=${BENCH_LB_RUNS:-"tuned:100000"}
         QT_MEM=${BENCH_MEM:-8192} QT_SMP=${BENCH_SMP:-1} rate=${BENCH_LB_RATE:-300} inflight=${BENCH_LB_INFLIGHT:-200} ;;
  single) if [ "$BENCH_QUICK" = 1 ]; then runs=${BENCH_LB_RUNS:-"tuned:100000 stock:100000"} QT_MEM=${BENCH_MEM:-12288}
          else runs=${BENCH_LB_RUNS:-"tuned:50000 tuned:100000 tuned:150000 stock:50000 stock:100000 stock:150000"} QT_MEM=${BENCH_MEM:-16384}; fi
          QT_SMP=${BENCH_SMP:-2} rate=${BENCH_LB_RATE:-1000} inflight=${BENCH_LB_INFLIGHT:-1000} ;;
  *) bench_die "BENCH_LB_RIG: split or single, not '$rig'" ;;
esac
peer_mem=${BENCH_PEER_MEM:-8192} peer_smp=${BENCH_PEER_SMP:-1}
if [ "$BENCH_QUICK" = 1 ]; then reloads=${BENCH_LB_RELOADS:-2} reload_n=${BENCH_LB_RELOAD_N:-20000}
else reloads=${BENCH_LB_RELOADS:-10} reload_n=${BENCH_LB_RELOAD_N:-100000}; fi
new_n=${BENCH_LB_NEW:-400}
for v in reloads reload_n new_n peer_mem peer_smp; do
  [[ ${!v} =~ ^[0-9]{1,7}$ ]] || bench_die "$v: a number, not '${!v}'"
done

# BENCH_LB_LOGS=DIR: no VM; the split rig's analysis over the probe logs
# an earlier run left in DIR (its bench/out/qemu), e.g. after a fix to it.
# Not a record unless BENCH_RECORD=1 asks (then marked "from_logs")
if [ -n "${BENCH_LB_LOGS:-}" ]; then
  [ "$rig" = split ] || bench_die "BENCH_LB_LOGS is for the split rig"
  [ "${BENCH_RECORD:-}" = 1 ] || export BENCH_RECORD=0
  img=""
else
  img=$(bench_image lb)
  bench_tools
fi

# bound: boot, then per run the ramp (TCG: >= 100 connects/s), the settle
# time, the hold and the drain of the previous run's sockets; retries
# wait up to 30 s each
limit=900
for r in $runs; do n=${r#*:}; limit=$(( limit + n / 100 + settle + hold + 800 + (retry - 1) * 30 )); done
[ -n "$long" ] && limit=$(( limit + 300 ))
params=$(printf 'RUNS=%q HOLD_S=%q LONG_HOLD=%q RATE=%q SETTLE_S=%q SOURCES=8 INFLIGHT=%q KEEPALIVE=%q RETRY=%q BACKOFF=%q' \
  "$runs" "$hold" "$long" "$rate" "$settle" "$inflight" "$keepalive" "$retry" "$backoff")

# single_rig: one VM, everything on its loopback (bench/guest/lb-conns.sh);
# sets res to {env, runs}
single_rig() {
  QT_EXTRA=$BENCH_BUILD/lb-100k.sqfs; bench_overlay "$QT_EXTRA"; export QT_EXTRA
  local action=$BENCH_BUILD/lb-100k.action
  { echo "$params SYSCTL=$(printf %q "$sysctls")"; echo '. /usr/local/lib/nodeos-bench/lb-conns.sh'; } >"$action"
  bench_vm lb-100k "$img" cloud-init/examples/lb "$action" "$limit" || bench_die "the lb VM did not finish (log: $QT_OUT/lb-100k/)"
  bench_notes lb-100k
  res=$(bench_results lb-100k | jq -s '{env: ((map(select(.kind == "env")) | first) + {rig: "single"}), rig: "single", runs: map(select(.kind == "run"))}')
}

# split_boot: the lb VM and the peer VM on the harness's private network,
# until the peer powers off (its probe logs under $QT_OUT/lb-split-*/)
split_boot() {
  local w=$BENCH_BUILD/lb-split ex=cloud-init/examples/lb d
  local s=$w/tree/usr/local/lib/nodeos-bench/seeds
  rm -rf "$w"
  # the lb's seed is the example's; the peer is the lb image at another
  # address, under its own instance; the reloads apply the example's
  # (base) and the example's with a fourth backend and a broker for it,
  # which the seed's checks ask for (plus)
  for d in "$w/seeds/lb" "$w/seeds/peer" "$s/base" "$s/plus"; do
    mkdir -p "$d" && cp "$ex"/meta-data "$ex"/user-data "$d/" || bench_die "cannot copy the example lb seed"
  done
  sed -i 's/^instance-id: .*/instance-id: bench-peer/; s/^local-hostname: .*/local-hostname: peer/' "$w/seeds/peer/meta-data"
  sed -i 's/^hostname: lb$/hostname: peer/; s|^  address: 192.168.0.20/24$|  address: 192.168.0.30/24|' "$w/seeds/peer/user-data"
  sed -i -e '/{name: verne-3, address: 192.168.0.16, role: verne}/a\    - {name: verne-4, address: 192.168.0.17, role: verne}' \
    -e 's/dojot_vernemq_replicas: 3$/dojot_vernemq_replicas: 4/' "$s/plus/user-data"
  for d in "$w/seeds/peer" "$s/plus"; do
    "$BUILD/node-agent" --roles-dir roles validate "$d" >"$w/validate.log" 2>&1 ||
      bench_die "the rig's seed $d is not valid: $(cat "$w/validate.log")"
  done
  grep -q '^  address: 192.168.0.30/24$' "$w/seeds/peer/user-data" && grep -q verne-4 "$s/plus/user-data" ||
    bench_die "the example lb seed changed: the rig's seeds no longer follow it (bench/lb-100k.sh split_boot)"
  qt_seed_iso "$w/seeds/lb" "$w/lb.iso" && qt_seed_iso "$w/seeds/peer" "$w/peer.iso" || bench_die "cannot make the cidata ISOs"
  QT_EXTRA=$BENCH_BUILD/lb-split.sqfs; bench_overlay "$QT_EXTRA" "$w/tree"; export QT_EXTRA
  { echo "CTL_PORT=7070 SAMPLE_S=5"; echo '. /usr/local/lib/nodeos-bench/lb-side.sh'; } >"$w/lb.action"
  { echo "$params LB=192.168.0.20 CTL_PORT=7070 RELOADS=$reloads RELOAD_N=$reload_n NEW_N=$new_n EXTRA_BACKEND=192.168.0.17:30004"
    echo '. /usr/local/lib/nodeos-bench/lb-peer.sh'; } >"$w/peer.action"
  limit=$(( limit + reloads * 240 + reload_n / 100 + settle ))
  qt_net_up 192.168.0.1/24 || bench_die "cannot make the private network (root, ip netns)"
  bench_log "split rig: lb VM ${QT_MEM} MiB ${QT_SMP} vCPU, peer VM ${peer_mem} MiB ${peer_smp} vCPU ($(qt_accel "$img/vmlinuz")), up to ${limit} s"
  export QT_NIC_OPTS=$nic_opts
  QT_MAC=52:54:00:b0:00:20 QT_ACTION=$w/lb.action qt_boot lb-split-lb "$img" "$w/lb.iso"
  QT_MAC=52:54:00:b0:00:30 QT_ACTION=$w/peer.action QT_MEM=$peer_mem QT_SMP=$peer_smp qt_boot lb-split-peer "$img" "$w/peer.iso"
  # the taps' host-side queues toward the guests (1,000 packets by default):
  # a burst the guest is too slow to take is dropped there
  local tap; for tap in $(ip -n "$QT_NETNS" -o link show master br0 | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip -n "$QT_NETNS" link set "$tap" txqueuelen "$tap_qlen" || bench_die "cannot set $tap's txqueuelen"
  done
  # a guest whose virtio-net transmit queue stalled (its kernel's NETDEV
  # WATCHDOG: QEMU took no packet from it for 5 s) has lost the network
  # for the run: the rig failed, not the lb, so stop now rather than at
  # the time limit
  local waited=0 stalled="" done_at=""
  while ! qt_exited lb-split-peer 30; do
    waited=$((waited + 30))
    # the peer's driver has printed everything; a guest that then hangs
    # in its power-off (seen: a soft lockup in ksoftirqd tearing down
    # 90k sockets) is given 120 s, then stopped: its results are in
    if grep -qa '^QTEST-ACTION rc=' "$QT_OUT/lb-split-peer/probe.log" 2>/dev/null; then
      done_at=${done_at:-$waited}
      if [ $((waited - done_at)) -ge 120 ]; then
        bench_log "the peer VM printed its results but did not power off in 120 s: stopped"
        qt_stop lb-split-peer "$img"; break
      fi
      continue
    fi
    stalled=$(grep -la 'NETDEV WATCHDOG' "$QT_OUT"/lb-split-{lb,peer}/serial.log 2>/dev/null | xargs -r -n1 dirname | xargs -r -n1 basename | tr '\n' ' ')
    [ -z "$stalled" ] && [ "$waited" -lt "$limit" ] && continue
    split_taps
    if [ -n "$stalled" ]; then
      bench_log "virtio-net transmit queue stalled in: $stalled($(grep -ah -m1 'NETDEV WATCHDOG' "$QT_OUT"/lb-split-{lb,peer}/serial.log | tr -d '\r'))"
      qt_stop lb-split-peer "$img"; qt_stop lb-split-lb "$img"
      bench_die "the rig lost its network after ${waited} s: a guest's NIC stalled under QEMU (logs: $QT_OUT/lb-split-*/)"
    fi
    bench_log "the peer VM still ran after ${limit} s: stopped"; qt_tail lb-split-peer
    qt_stop lb-split-peer "$img"; qt_stop lb-split-lb "$img"; bench_die "the split rig did not finish (logs: $QT_OUT/lb-split-*/)"
  done
  split_taps
  qt_exited lb-split-lb 120 || bench_log "the lb VM did not power off after the peer's done: stopped"
  qt_stop lb-split-peer "$img" && qt_stop lb-split-lb "$img" || bench_die "the built artifact changed"
  qt_net_down
}

# split_taps: what the host's taps dropped toward each guest (packets the
# guest was too slow to take), into the log and $QT_OUT/lb-split-taps.json
split_taps() {
  ip -n "$QT_NETNS" -s -j link show master br0 2>/dev/null |
    jq -c 'map({tap: .ifname, txqueuelen: .txqlen, to_guest_packets: .stats64.tx.packets, to_guest_dropped: .stats64.tx.dropped, from_guest_packets: .stats64.rx.packets})' \
    >"$QT_OUT/lb-split-taps.json" && bench_log "taps (t0: lb, t1: peer): $(cat "$QT_OUT/lb-split-taps.json")"
}

# split_rig: boots the rig (or, with BENCH_LB_LOGS, reads an earlier run's
# logs) and sets res to {env, peer_env, runs, reloads}
split_rig() {
  if [ -n "${BENCH_LB_LOGS:-}" ]; then
    QT_OUT=$BENCH_LB_LOGS
    [ -f "$QT_OUT/lb-split-lb/probe.log" ] && [ -f "$QT_OUT/lb-split-peer/probe.log" ] || bench_die "BENCH_LB_LOGS=$BENCH_LB_LOGS has no lb-split-lb/ and lb-split-peer/ probe logs"
  else
    split_boot
  fi
  bench_notes lb-split-peer; bench_notes lb-split-lb
  # the BENCH lines go to jq in files (kept beside the rig's other build
  # files): a full run's lb samples are more than one argument may hold
  # (128 KiB: "Argument list too long")
  local lines=$BENCH_BUILD/lb-split-lines
  mkdir -p "$lines"
  bench_results_json lb-split-lb >"$lines/lb.json" && bench_results_json lb-split-peer >"$lines/peer.json" ||
    bench_die "cannot read the rig's BENCH lines"
  # each run's lb figures: counters between its marks, peaks from the
  # samples between them (the lb's clock for both)
  # (jq 1.6: null - null is an error, so every difference goes through diff)
  res=$(jq -n --slurpfile lbs "$lines/lb.json" --slurpfile peers "$lines/peer.json" '
    def nonneg: if . == null then null elif . < 0 then null else . end;
    def diff($a; $b): if $a == null or $b == null then null else ($a - $b | nonneg) end;
    $lbs[0] as $lb | $peers[0] as $peer
    | ($lb | map(select(.kind == "env")) | first) as $env
    | ($lb | map(select(.kind == "sample"))) as $samples
    | ($lb | map(select(.kind == "mark")) | map({(.name): .}) | add // {}) as $marks
    | {rig: "split", env: ($env + {rig: "split"}), peer_env: ($peer | map(select(.kind == "peer_env")) | first),
       runs: [$peer[] | select(.kind == "run")
         | ($marks["begin:\(.i)"] // {}) as $b | ($marks["end:\(.i)"] // {}) as $e
         | [$samples[] | select($b.t != null and $e.t != null and .t >= $b.t and .t <= $e.t)] as $w
         # no peak without both marks: a missing one says "not measured"
         | (if $b.t == null or $e.t == null then {} else (($w + [$b]) | max_by(.inuse)) end) as $pk
         | {mode, n, range: .lb_range.range, ports_per_backend: .lb_range.ports_per_backend, capacity: .lb_range.capacity,
            hold_s, load, sink, peer_cpu_busy_pct,
            haproxy_smax: $e.haproxy_smax, haproxy_econ: diff($e.haproxy_econ; $b.haproxy_econ), haproxy_retries: diff($e.haproxy_retries; $b.haproxy_retries),
            tcp_inuse_before: $b.inuse, tcp_inuse_peak: $pk.inuse, slab_kb_before: $b.slab_kb, slab_kb_peak: $pk.slab_kb,
            tcp_mem_pages_before: $b.tcp_mem_pages, tcp_mem_pages_peak: $pk.tcp_mem_pages,
            haproxy_rss_kb_before: $b.haproxy_rss_kb, haproxy_rss_kb_peak: $pk.haproxy_rss_kb,
            mem_available_kb_before: $b.mem_available_kb, mem_available_kb_peak: $pk.mem_available_kb,
            cpu_busy_pct: (if ($e.cpu_total // 0) > ($b.cpu_total // 0) and $b.cpu_total != null then (($e.cpu_busy - $b.cpu_busy) * 100 / ($e.cpu_total - $b.cpu_total) | floor) else null end),
            haproxy_cpu_s: (diff($e.haproxy_cpu_ticks; $b.haproxy_cpu_ticks) as $d | if $d == null or ($env.hz // 0) == 0 then null else ($d / $env.hz * 10 | round / 10) end),
            haproxy_restarts: diff($e.haproxy_restarts; $b.haproxy_restarts),
            haproxy_end_states: $e.haproxy_end_states, haproxy_watchdog_kills: $e.haproxy_watchdog_kills,
            tcp_mem_pages_max: ($w | map(.tcp_mem_pages) | max), tcp_mem: $e.tcp_mem,
            kernel_tcp: (if $e.tcpext and $b.tcpext then ($e.tcpext | with_entries(.value -= ($b.tcpext[.key] // 0))) else null end)}],
       reloads: (($peer | map(select(.kind == "reloads")) | first) as $all
         | [$peer[] | select(.kind == "reload")] as $each
         | $marks["begin:reload"] as $rb | $marks["end:reload"] as $re
         | if $all == null then null else
           {n: $all.n, asked: $all.done, load: $all.load,
            drops: $all.load.drops, connect_failed: $all.load.connect_failed,
            each: [$each[] | {k, seed: .lb.seed, agent_rc: .lb.rc, agent_s: .lb.agent_s, haproxy_cfg_step: .lb.haproxy_cfg_step,
                     reloaded_not_restarted: (.lb.haproxy_pid_before == .lb.haproxy_pid_after and (.lb.haproxy_pid_after // 0) > 0),
                     new_worker: ((.lb.worker_after // 0) > 0 and .lb.worker_after != .lb.worker_before), new_worker_s: .lb.new_worker_s,
                     servers_running: ((.servers_before // {}) | keys),
                     held_before: .held_before, held_after: .held_after, lb_held_before: .lb.held_before, lb_held_after: .lb.held_after,
                     haproxy_procs_before: .lb.haproxy_procs_before, haproxy_procs_after: .lb.haproxy_procs_after,
                     new_up: .new.up, new_failed: .new.connect_failed,
                     new_by_server: ((.servers_before // {}) as $sb | (.servers_after // {}) | with_entries(.value -= ($sb[.key] // 0) | .value |= nonneg))}
                   # the new configuration took effect: a new worker, with
                   # (odd k) or without (even k) the fourth backend, which
                   # (odd k) took new connections
                   | . + {took_effect: (.agent_rc == 0 and (.haproxy_cfg_step == "done" or .haproxy_cfg_step == "changed") and .new_worker
                       and (if .seed == "plus" then (.servers_running | length) == 4 and (.new_by_server["verne-4"] // 0) > 0
                            else (.servers_running | length) == 3 end))}],
            old_workers: (if $rb == null then [] else [$samples[] | select(.t >= $rb.t and ($re == null or .t <= $re.t)) | [(.t - $rb.t), ((.haproxy_procs // 1) - 2 | if . < 0 then 0 else . end)]] end)}
           | .done = ([.each[] | select(.took_effect)] | length)
           end)}') || bench_die "cannot combine the rig's results (logs: $QT_OUT/lb-split-*/probe.log)"
}

case $rig in single) single_rig ;; split) split_rig ;; esac
[ "$(jq '.runs | length' <<<"$res")" -gt 0 ] || bench_die "no results in $QT_OUT/lb-100k*/probe.log"

# per connection: in the single rig one client connection is 4 sockets in
# the one kernel (the generator's, haproxy's two, the sink's), in the split
# rig the lb's kernel has haproxy's two only; haproxy's RSS grows by its
# own state only; the lb's memory per connection is MemAvailable's fall
# (split: sampled before the run and at its peak)
res=$(jq '
  # KB per connection from counters; null where one is missing
  def per($kb): if (.load.up_at_hold // 0) > 0 and $kb != null then ($kb / .load.up_at_hold * 100 | round / 100) else null end;
  def d($a; $b): if $a == null or $b == null then null else $a - $b end;
  .runs |= map(. + {
    held: (.load.up // 0), held_at_hold_start: (.load.up_at_hold // 0),
    # connections that needed more than one connect attempt
    retries: ((.load.retried // 0) + (.load.gave_up // 0)),
    haproxy_rss_kb_per_conn: per(d(.haproxy_rss_kb_peak; .haproxy_rss_kb_before)),
    kernel_kb_per_conn: per(d(.slab_kb_peak; .slab_kb_before) as $s | d(.tcp_mem_pages_peak; .tcp_mem_pages_before) as $p
      | if $s == null or $p == null then null else $s + $p * 4 end),
    lb_mem_kb_per_conn: per(d(.mem_available_kb_before; .mem_available_kb_peak))
  })' <<<"$res") || bench_die "cannot compute the per-connection figures"
echo
if [ "$rig" = split ]; then
  where="the lb VM ${QT_SMP} vCPU $(( QT_MEM / 1024 )) GiB; devices and $(jq -r '.env.backends' <<<"$res") MQTT backends on a peer VM (${peer_smp} vCPU $(( peer_mem / 1024 )) GiB) on a private network"
else
  where="$(jq -r '.env.backends' <<<"$res") local MQTT backends and the devices in the lb VM (${QT_SMP} vCPU $(( QT_MEM / 1024 )) GiB)"
fi
echo "lb-100k ($rig rig): HAProxy $(jq -r '.env.haproxy' <<<"$res"), maxconn $(jq -r '.env.haproxy_maxconn' <<<"$res"), $where ($(cat "$QT_OUT/accel"))$([ "$retry" -gt 1 ] && echo ", devices reconnect: up to $retry attempts, first backoff ${backoff} s")$([ -n "$sysctls" ] && echo ", harness sysctl: $sysctls")"
{ echo "range capacity N held(end) held(hold) failed retried drops conn/s hold_s haproxy_smax upstream_err haproxy_KB/conn kernel_KB/conn lb_mem_KB/conn tcp_pages_max lb_cpu%"
  jq -r '.runs[] | [(.range // "-" | sub(" "; "-")), .capacity, .n, .held, .held_at_hold_start, .load.connect_failed, .retries, .load.drops, .load.connect_rate, .hold_s,
      .haproxy_smax, .haproxy_econ, .haproxy_rss_kb_per_conn, .kernel_kb_per_conn, .lb_mem_kb_per_conn, .tcp_mem_pages_max, .cpu_busy_pct] | map(tostring) | join(" ")' <<<"$res"
} | column -t
# why: the generator's failure and drop causes, what haproxy logged, what the kernel counted
jq -r '.runs[] | "why \(.mode) \(.n): failed \(.load.failed // {} | to_entries | map(select(.value > 0) | "\(.key) \(.value)") | join(", ")),"
  + " dropped \(.load.dropped // {} | to_entries | map(select(.value > 0) | "\(.key) \(.value)") | join(", ")), not opened \(.load.not_opened // 0),"
  + " retried \(.load.retried // "-"), gave up \(.load.gave_up // "-"), failed attempts \(.load.attempts_failed // "-")"
  + " (\(.load.failed_attempts // {} | to_entries | map(select(.value > 0) | "\(.key) \(.value)") | join(", "))),"
  + " ping lag max \(.load.ping_lag_max_s // "-") s; haproxy restarts \(.haproxy_restarts // "-") (watchdog \(.haproxy_watchdog_kills // "-")),"
  + " ended sessions \(.haproxy_end_states // {} | to_entries | map("\(.key) \(.value)") | join(", "));"
  + " kernel \(.kernel_tcp // {} | to_entries | map(select(.value > 0) | "\(.key) \(.value)") | join(", ")); tcp_mem \(.tcp_mem // "-")"' <<<"$res" >&2
# a result reached with help says so: reconnecting devices, kernel settings
# the role does not make. The run judged: the longest hold of 100k tuned.
goal=$(jq -r '(.env.harness_sysctl // {} | to_entries | map("\(.key)=\(.value)") | join(" ")) as $sys
  | [.runs[] | select(.mode == "tuned" and .n == 100000)] | max_by(.hold_s) | if . == null then "not run" else
  .retries as $retries
  | (if (.load.max_attempts // 1) > 1 then "; devices reconnecting: up to \(.load.max_attempts) attempts, \(.load.retried) needed a retry, \(.load.gave_up) gave up" else "" end) as $r
  | (if $sys != "" then "; harness sysctl \($sys)" else "" end) as $s
  | if .held == 100000 and .load.drops == 0 and .load.connect_failed == 0 and $retries == 0 then "met (100000 held for \(.hold_s) s, 0 failed, 0 retried, 0 drops\($r)\($s))"
    else "NOT met (\(.held) held for \(.hold_s) s, \(.load.connect_failed) failed, \($retries) retried, \(.load.drops) drops\($r)\($s))" end end' <<<"$res")
echo "goal: 100,000 held with the role's tuning, no failed connect, no retry, zero drops: $goal"
if jq -e '.reloads != null' <<<"$res" >/dev/null; then
  echo
  echo "reloads under load: the lb's agent applies a changed seed with $(jq -r '.reloads.n' <<<"$res") connections held"
  { echo "k seed agent_rc agent_s haproxy.cfg same_pid new_worker took_effect held_before held_after lb_held_before lb_held_after haproxy_procs new_up new_by_server"
    jq -r '.reloads.each[] | [.k, .seed, .agent_rc, .agent_s, .haproxy_cfg_step, .reloaded_not_restarted, .new_worker, .took_effect, .held_before, .held_after,
        .lb_held_before, .lb_held_after, "\(.haproxy_procs_before)->\(.haproxy_procs_after)", .new_up,
        (.new_by_server | to_entries | map("\(.key)=\(.value)") | join(","))] | map(tostring) | join(" ")' <<<"$res"
  } | column -t
  jq -r '.reloads | "old haproxy workers over time (s since the reload phase began: count): \(.old_workers | map("\(.[0]):\(.[1])") | .[0:200] | join(" "))"' <<<"$res"
  # met only when every reload took effect (a new worker with the changed
  # backends, new connections on the added one), haproxy was never
  # restarted, and all the connections asked for were held throughout
  rgoal=$(jq -r '.reloads | ([.each[] | select(.reloaded_not_restarted | not)] | length) as $restarts
    | if .done == 0 then "NOT met (no reload took effect)"
    elif .done == .asked and .asked > 0 and $restarts == 0 and .drops == 0 and .connect_failed == 0 and .load.up_at_hold == .n and .load.up == .n
      then "met (\(.done) reloads took effect, \(.load.up) of \(.n) held throughout, 0 drops)"
    else "NOT met (\(.done) of \(.asked) took effect, \($restarts) restarts, \(.load.up_at_hold // 0) of \(.n) up before the reloads, \(.load.up // 0) at the end, \(.drops) drops, \(.connect_failed) failed)" end' <<<"$res")
  echo "goal: reloads through the agent drop no held connection: $rgoal"
  res=$(jq --arg g "$rgoal" '.reloads.goal = $g' <<<"$res")
fi
bench_write lb-100k "$(jq --arg goal "$goal" --arg logs "${BENCH_LB_LOGS:-}" '. + {goal_100k: $goal, from_logs: ($logs != "")}' <<<"$res")"
