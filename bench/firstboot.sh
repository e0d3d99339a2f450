#!/usr/bin/env bash
# bench/firstboot.sh [--quick]: first boot of the lb image, the role set up
# by node-agent vs by Debian's cloud-init with equivalent user-data, and
# boot-to-role-ready with the agent vs a no-op unit in its place, and vs the
# same node baked into the image.
#
# Four kinds of boot of the same image (out/bookworm/lb), each in its own
# VM, one at a time:
#   agent       the example seed (cloud-init/examples/lb): the agent's run
#   cloud-init  a test overlay adds cloud-init and python3 (bench/cloud-init-
#               tree.sh) and masks node-agent; the seed is #cloud-config
#               whose write_files are the files the agent renders for the
#               same seed (rendered offline here with `node-agent run
#               --root`) and whose runcmd does what the agent's steps do
#               (networkctl reload, sysctl --system, daemon-reload, haproxy
#               -c, enable --now haproxy); hostname by cloud-init's module
#   noop        node-agent masked, a oneshot with the agent unit's ordering
#               that does nothing: the boot without the role setup
#   baked       noop, plus the files the agent renders for the seed already
#               in the image and haproxy enabled: as if the image had been
#               built for this one node (haproxy's own start included)
#   floor       node-agent masked, a oneshot with its ordering that runs
#               only the commands any first-boot tool must run for this
#               node (guest/floor.sh: read the seed medium, put the
#               pre-rendered files in place, hostname, sysctls, networkd
#               reload, haproxy -c, enable --now haproxy), each timed:
#               the floor (the first run's script was none: slower than
#               the agent, bench/README.md, firstboot results)
# Measured in the guest (bench/guest/firstboot.sh): systemd's unit
# timestamps, CPUUsageNSec and the cgroup's memory.peak; the agent's step
# lines; cloud-init's own stage times; memory.peak of each unit's cgroup. On the host: the agent's own work
# with nothing live (`node-agent run --root`), the median of 20 runs.
#   --quick: one boot of each kind; full: BENCH_FIRSTBOOT_REPEAT (3) each.
#   BENCH_FIRSTBOOT_MODES: the kinds to boot ("agent cloud-init noop baked floor");
#   the goals need the first three. BENCH_FIRSTBOOT_NETWORKD_DEBUG=1: networkd logs at
#   debug level (diagnostic; it slows networkd).
# Environment: BENCH_MEM (MiB, 1024), BENCH_SMP (2). Writes
# bench/out/firstboot.json.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ "${1:-}" = --quick ] && BENCH_QUICK=1
cd "$BENCH_REPO" || exit 1
reps=${BENCH_FIRSTBOOT_REPEAT:-3}; [ "$BENCH_QUICK" = 1 ] && reps=1
QT_MEM=${BENCH_MEM:-1024} QT_SMP=${BENCH_SMP:-2}
img=$(bench_image lb)
seed_src=cloud-init/examples/lb
agent=$BENCH_REPO/$BUILD/node-agent
[ -x "$agent" ] || bench_die "$agent is missing: run make BUILD=$BUILD first"
bench_tools

# --- the agent's own work, nothing live (host) ------------------------------
R=$BENCH_BUILD/firstboot.root
# the image's base package list (as build-image puts it in the layer, from its
# manifest), so that the rendering here is the one the agent makes in the VM
pk=$BENCH_BUILD/firstboot.base-packages
jq -r '.packages | to_entries[] | "\(.key)\t\(.value)"' "$img/manifest.json" >"$pk" && [ -s "$pk" ] ||
  bench_die "no package list in $img/manifest.json"
offline=()
for _ in $(seq 20); do
  rm -rf "$R"; mkdir -p "$R/usr/share/nodeos"; cp "$pk" "$R/usr/share/nodeos/base-packages"
  t0=$(date +%s%N); "$agent" run --root "$R" --seed "$seed_src" --roles-dir roles >/dev/null 2>&1 || bench_die "offline agent run failed"
  offline+=($(( ($(date +%s%N) - t0) / 1000 )))
done
offline_us=$(printf '%s\n' "${offline[@]}" | sort -n | sed -n 10p)

# --- the equivalent #cloud-config, from the agent's rendering of the seed ---
ci_seed=$BENCH_BUILD/firstboot.ci-seed; rm -rf "$ci_seed"; mkdir -p "$ci_seed"
host=$(sed -n 's/^hostname: *//p' "$seed_src/user-data" | sed -n 1p)
printf 'instance-id: %s-cloud-init-bench\nlocal-hostname: %s\n' "$host" "$host" >"$ci_seed/meta-data"
{
  echo "#cloud-config"
  echo "# bench/firstboot.sh: what node-agent does for $seed_src, as cloud-init user-data"
  echo "hostname: $host"
  echo "preserve_hostname: false"
  echo "# the image makes its SSH host keys (nodeos-ssh-hostkeys.service) in both runs"
  echo "ssh_deletekeys: false"
  echo "ssh_genkeytypes: []"
  echo "# the agent makes no users and sets no locale (cloud.cfg's default user"
  echo "# wants a sudo group the image lacks; locale-gen has no locale data here)"
  echo "users: []"
  echo "locale: false"
  echo "write_files:"
  ( cd "$R" && find etc -type f ! -name hostname | sort ) | while read -r f; do
    echo "  - path: /$f"
    echo "    permissions: '0$(stat -c %a "$R/$f")'"
    echo "    encoding: b64"
    echo "    content: $(base64 -w0 "$R/$f")"
  done
  echo "runcmd:"
  echo "  - [systemctl, enable, systemd-networkd.service]"
  echo "  - [networkctl, reload]"
  echo "  - [sysctl, --system]"
  echo "  - [systemctl, daemon-reload]"
  echo "  - [haproxy, -c, -f, /etc/haproxy/haproxy.cfg]"
  echo "  - [systemctl, enable, --now, haproxy.service]"
} >"$ci_seed/user-data"

# --- the overlays ----------------------------------------------------------
units=$BENCH_BUILD/firstboot.units; rm -rf "$units"
mk_tree() { rm -rf "$1"; mkdir -p "$1/etc/systemd/system"; ln -s /dev/null "$1/etc/systemd/system/node-agent.service"; }
# standin_unit TREE NAME DESCRIPTION EXECSTART: a oneshot in node-agent's
# place with the agent unit's [Unit] (same ordering and dependencies),
# wanted by multi-user.target
standin_unit() {
  local u=$1/etc/systemd/system
  { sed -n '/^\[Service\]/q; p' src/agent/node-agent.service | sed "s|^Description=.*|Description=bench: $3|"
    printf '[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=%s\n' "$4"
  } >"$u/$2.service"
  mkdir -p "$u/multi-user.target.wants" && ln -s "../$2.service" "$u/multi-user.target.wants/$2.service"
}
# noop: no work; it releases the harness probe, which waits for the agent's
# sentinel
noop=$units/noop; mk_tree "$noop"
standin_unit "$noop" bench-noop-standin "no-op in place of node-agent (boot without the role setup)" \
  "/bin/sh -c 'mkdir -p /var/lib/node-agent && touch /var/lib/node-agent/success'"
# baked: the no-op, and the agent's offline rendering of the seed (every file
# it writes under /etc) in the image, haproxy enabled
baked=$units/baked; mk_tree "$baked"
cp -a "$noop/etc/." "$baked/etc/"
cp -a "$R/etc/." "$baked/etc/"
ln -s /lib/systemd/system/haproxy.service "$baked/etc/systemd/system/multi-user.target.wants/haproxy.service"
# floor: the agent unit's [Unit], running guest/floor.sh over the agent's
# offline rendering of the seed (carried under /usr/local/share)
floor=$units/floor; mk_tree "$floor"
standin_unit "$floor" bench-floor-standin "the floor, only the commands any first-boot tool must run (stand-in for node-agent)" \
  "/bin/bash /usr/local/lib/nodeos-bench/floor.sh"
# split ahead of time: the plain files (one cp in the guest) and the unit
# drop-ins (written only where the image does not hold them already)
fl=$floor/usr/local/share/nodeos-bench/floor
mkdir -p "$fl/files" "$fl/units" && cp -a "$R/etc" "$fl/files/" && mv "$fl/files/etc/systemd/system" "$fl/units/" ||
  bench_die "cannot make the floor's files"
# cloud-init: its tree, node-agent masked, the probe released after cloud-final
ci=$units/cloud-init; mk_tree "$ci"
cat >"$ci/etc/systemd/system/bench-release-standin.service" <<'UNIT'
[Unit]
Description=bench: release the harness probe once cloud-init is done (stand-in for the agent's sentinel)
DefaultDependencies=no
After=cloud-final.service
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'mkdir -p /var/lib/node-agent && touch /var/lib/node-agent/success'
UNIT
mkdir -p "$ci/etc/systemd/system/cloud-final.service.wants" "$ci/etc/cloud/cloud.cfg.d"
ln -s ../bench-release-standin.service "$ci/etc/systemd/system/cloud-final.service.wants/bench-release-standin.service"
# as a NoCloud deployment configures it: only that datasource; the network
# is the user-data's networkd file, as for the agent
printf 'datasource_list: [ NoCloud, None ]\nnetwork: {config: disabled}\n' >"$ci/etc/cloud/cloud.cfg.d/99-bench.cfg"
bench_log "cloud-init tree (mmdebstrap on first use)"
ci_tree=$(bench/cloud-init-tree.sh "$img" "$BENCH_BUILD/cloud-init.d") || bench_die "cannot make the cloud-init tree"
# memory: a unit's cgroup goes away when its processes have exited, so
# each measured unit copies its memory.peak out from an ExecStartPost (the
# last moment its cgroup exists: after READY for the agent, after the main
# process for the oneshots); one short sh per unit in every mode
mem=$units/mem
for u in node-agent cloud-init-local cloud-init cloud-config cloud-final bench-noop-standin bench-floor-standin; do
  mkdir -p "$mem/etc/systemd/system/$u.service.d"
  printf '[Service]\nExecStartPost=-/bin/sh -c "cat /sys/fs/cgroup/system.slice/%%n/memory.peak >/run/bench-mem-%%n"\n' \
    >"$mem/etc/systemd/system/$u.service.d/90-bench-mem.conf"
done
# diagnostic: networkd's debug log in the guest's journal (why the link is
# not yet online); printed by the guest driver
if [ "${BENCH_FIRSTBOOT_NETWORKD_DEBUG:-0}" = 1 ]; then
  mkdir -p "$mem/etc/systemd/system/systemd-networkd.service.d"
  printf '[Service]\nEnvironment=SYSTEMD_LOG_LEVEL=debug\n' >"$mem/etc/systemd/system/systemd-networkd.service.d/90-bench-debug.conf"
fi
bench_overlay "$BENCH_BUILD/fb-agent.sqfs" "$mem"
bench_overlay "$BENCH_BUILD/fb-noop.sqfs" "$noop" "$mem"
bench_overlay "$BENCH_BUILD/fb-baked.sqfs" "$baked" "$mem"
bench_overlay "$BENCH_BUILD/fb-floor.sqfs" "$floor" "$mem"
bench_overlay "$BENCH_BUILD/fb-cloud-init.sqfs" "$ci_tree" "$ci" "$mem"

# --- the boots ---------------------------------------------------------------
all="[]"
for rep in $(seq "$reps"); do
  for mode in ${BENCH_FIRSTBOOT_MODES:-agent cloud-init noop baked floor}; do
    act=$BENCH_BUILD/fb-$mode.action
    printf 'MODE=%s\nNETWORKD_LINES=%s\n. /usr/local/lib/nodeos-bench/firstboot.sh\n' "$mode" "$([ "${BENCH_FIRSTBOOT_NETWORKD_DEBUG:-0}" = 1 ] && echo 400 || echo 40)" >"$act"
    seed=$seed_src; [ "$mode" = cloud-init ] && seed=$ci_seed
    name=firstboot-$mode-$rep
    if QT_EXTRA=$BENCH_BUILD/fb-$mode.sqfs bench_vm "$name" "$img" "$seed" "$act" 1500; then
      bench_notes "$name"
      r=$(bench_results "$name" | tail -1)
      [ -n "$r" ] && all=$(jq --argjson r "$r" --arg rep "$rep" '. + [$r + {rep: ($rep|tonumber)}]' <<<"$all")
    fi
  done
done
[ "$(jq length <<<"$all")" -gt 0 ] || bench_die "no results"

# per boot: setup = first unit's activation to its end (agent: READY;
# cloud-init: cloud-final's exit), role ready = setup done and haproxy
# active, both in seconds since systemd (userspace) started
res=$(jq --argjson off "$offline_us" '
  def s: . / 1e6;
  def median: sort | if length == 0 then null else .[(length - 1) / 2 | floor] end;
  map(. + {
    setup_s: ((if .mode == "cloud-init" then (.units | map(.main_exit_us) | max) else (.units[0].active_us) end) - (.units | map(.activating_us) | min) | s),
    cpu_s: ((.units | map(.cpu_ns // 0) | add) / 1e9),
    mem_peak_mib: ((.units | map(.mem_peak // 0) | max) / 1048576 * 10 | round / 10),
    role_ready_s: (([(.units | map(.active_us) | max)] + (if .mode == "noop" then [] else [.haproxy_active_us] end) | max) - .userspace_us | s),
    multi_user_s: ((.multi_user_us - .userspace_us) | s)
  }) as $boots
  | [ "agent", "cloud-init", "noop", "baked", "floor" ] | map(. as $m | $boots | map(select(.mode == $m)) | {
      mode: $m, boots: length,
      setup_s: (map(.setup_s) | median), cpu_s: (map(.cpu_s) | median), mem_peak_mib: (map(.mem_peak_mib) | median),
      role_ready_s: (map(.role_ready_s) | median), multi_user_s: (map(.multi_user_s) | median)}) as $sum
  | { boots: $boots, summary: $sum, agent_offline_ms: ($off / 1000) }' <<<"$all")

echo
echo "firstboot: lb image, guest ${QT_SMP} vCPU ${QT_MEM} MiB ($(cat "$QT_OUT/accel")), median of $reps boot(s) each"
{ echo "setup boots setup_s cpu_s mem_peak_MiB role_ready_s multi_user_s"
  jq -r '.summary[] | [.mode, .boots, .setup_s, .cpu_s, .mem_peak_mib, .role_ready_s, .multi_user_s] | map(if type == "number" then (. * 1000 | round / 1000) else . end) | map(tostring) | join(" ")' <<<"$res"
} | column -t
echo "(setup: the first unit's activation to its end; role ready: setup done and haproxy active; both since systemd started)"
echo
echo "agent steps (first boot, ms):"
jq -r '[.boots[] | select(.mode == "agent")][0].agent_steps // [] | map("  \(.stage)/\(.step) \(.ms)") | .[]' <<<"$res"
echo
echo "when the units the setup touches became active (s since systemd started; activating -> active):"
jq -r '.boots | group_by(.mode)[] | .[0] as $b | "  \($b.mode): " + ([$b.timeline // [] | .[] | select(.active_us != null and .active_us > 0)
  | "\(.unit | sub("\\.(service|target)$"; "")) \(((.activating_us // 0) - $b.userspace_us) / 1e6 * 100 | round / 100)->\((.active_us - $b.userspace_us) / 1e6 * 100 | round / 100)"] | join(", "))' <<<"$res"
# the agent's own time: the steps that do not wait on systemd (the networkd
# restart, daemon-reload, haproxy's start are systemd's and haproxy's time)
res=$(jq '
  ([.boots[] | select(.mode == "agent")][0].agent_steps // []) as $st
  | (.summary | map({(.mode): .}) | add) as $m
  | . + {goals: {
      speedup_vs_cloud_init: (if ($m.agent.setup_s // 0) > 0 and $m["cloud-init"].setup_s then ($m["cloud-init"].setup_s / $m.agent.setup_s * 10 | round / 10) else null end),
      agent_in_boot_ms_without_systemd_waits: ($st | map(select(.step | test("^(network|limits|services)$") | not) | .ms) | add),
      agent_in_boot_systemd_waits_ms: ($st | map(select(.step | test("^(network|limits|services)$")) | .ms) | add),
      agent_offline_ms: .agent_offline_ms,
      agent_adds_s: (if $m.agent.role_ready_s and $m.noop.role_ready_s then (($m.agent.role_ready_s - $m.noop.role_ready_s) * 1000 | round / 1000) else null end),
      agent_adds_over_baked_s: (if $m.agent.role_ready_s and $m.baked.role_ready_s then (($m.agent.role_ready_s - $m.baked.role_ready_s) * 1000 | round / 1000) else null end),
      # the floor: what no first-boot tool could go below (guest/floor.sh)
      floor_setup_s: (if $m.floor.setup_s then ($m.floor.setup_s * 1000 | round / 1000) else null end),
      agent_over_floor_s: (if $m.agent.setup_s and $m.floor.setup_s then (($m.agent.setup_s - $m.floor.setup_s) * 1000 | round / 1000) else null end),
      cloud_init_over_floor_s: (if $m["cloud-init"].setup_s and $m.floor.setup_s then (($m["cloud-init"].setup_s - $m.floor.setup_s) * 1000 | round / 1000) else null end)}}
  # above the floor: the part of each setup that is the tool itself
  | .goals += {speedup_over_floor: (if (.goals.agent_over_floor_s // 0) > 0 and .goals.cloud_init_over_floor_s then (.goals.cloud_init_over_floor_s / .goals.agent_over_floor_s * 10 | round / 10) else null end),
  # the most any first-boot tool could be faster than cloud-init in this run:
  # a tool that ran only the floor commands
      speedup_ceiling: (if ($m.floor.setup_s // 0) > 0 and $m["cloud-init"].setup_s then ($m["cloud-init"].setup_s / $m.floor.setup_s * 10 | round / 10) else null end)}
  # every boot that set the node up must have made the same node as the agent
  | ([.boots[] | select(.mode == "agent")][0].result) as $want
  | . + {same_node: {compared_with: ($want != null), differ: [.boots[] | select(.mode != "noop" and .result != $want) | "\(.mode) #\(.rep)"]}}' <<<"$res")
jq -r '.goals | "goal: agent >= 30x faster than cloud-init: \(.speedup_vs_cloud_init)x (\(if (.speedup_vs_cloud_init // 0) >= 30 then "met" else "NOT met" end))",
  "goal: agent own time <= 100 ms: \(.agent_offline_ms) ms with nothing live (host); \(.agent_in_boot_ms_without_systemd_waits) ms in the boot outside the steps that wait on systemd (those: \(.agent_in_boot_systemd_waits_ms) ms)",
  "goal: agent adds <= 0.5 s to boot-to-role-ready (TCG): \(.agent_adds_s) s (\(if .agent_adds_s == null then "not measured" elif .agent_adds_s <= 0.5 then "met" else "NOT met" end))",
  "      over the node baked into the image (haproxy starts by itself): \(.agent_adds_over_baked_s // "not measured") s"' <<<"$res"
jq -r '.goals | select(.floor_setup_s != null) | "floor: the commands any first-boot tool must run took \(.floor_setup_s) s; the agent minus the floor: \(.agent_over_floor_s) s, cloud-init minus the floor: \(.cloud_init_over_floor_s) s" + (if .speedup_over_floor then " (\(.speedup_over_floor)x)" elif (.agent_over_floor_s // 1) <= 0 then " (the agent at or below the floor in this run: nothing of its own above it)" else "" end)
  + (if .speedup_ceiling then "; a tool running only these commands would be \(.speedup_ceiling)x cloud-init" else "" end)' <<<"$res"
jq -r '[.boots[] | select(.mode == "floor")][0].floor_parts // [] | if length > 0 then "floor parts (first boot, ms): " + (map("\(.part) \(.ms)") | join(", ")) else empty end' <<<"$res"
jq -r '.same_node | if (.compared_with | not) then "same node: not checked (no agent boot)"
  elif (.differ | length) == 0 then "same node: every boot that set it up made the agent'"'"'s (hostname, port range, haproxy.cfg, LimitNOFILE, haproxy active)"
  else "same node: DIFFERENT from the agent'"'"'s: \(.differ | join(", "))" end' <<<"$res"
bench_write firstboot "$res"
# a comparison between boots that made different nodes measures nothing
[ "$(jq '.same_node.differ | length' <<<"$res")" = 0 ] || bench_die "the boots did not make the same node (see same_node in bench/out/firstboot.json)"
