# qemu-tests/lib.sh: the QEMU test harness, sourced by every qemu-tests case.
#
# Each test boots a copy-on-write overlay of a built disk (the artifact is
# never written; its hash is checked before and after), with a NoCloud seed
# the harness makes, and reads the serial console log as the oracle: the
# agent's sentinel decides, badness patterns (panic, Oops, emergency shell,
# segfault, the agent's failure line) fail at once, every wait is bounded and
# a timeout prints the last 50 lines. A probe script (harness-only: passed by
# systemd.run= on the kernel command line and a second disk, never built
# into the image) reports what the agent did on a second serial port.
# shellcheck shell=bash

QT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
QT_REPO=$(cd "$QT_DIR/.." && pwd)
QT_OUT=${QT_OUT:-$QT_DIR/out}
QT_PROFILE=${QT_PROFILE:-bookworm}
QT_MEM=${QT_MEM:-1024}
QT_SMP=${QT_SMP:-2}
mkdir -p "$QT_OUT"

QT_BADNESS='Kernel panic|Oops:|BUG: |You are in emergency mode|You are in rescue mode|Entering emergency mode|segfault at|general protection fault|NODEOS-AGENT: FAILED'

qt_log() { echo "# $*" >&2; }

# qt_json_holds FILE FILTER [JQ_ARGS...]: true when FILE holds a JSON value
# for which FILTER is neither false nor null. `jq -e FILTER FILE` alone is
# not enough: jq 1.6 (Debian 12) exits 0 on an empty file, so a truncated
# manifest would pass; reading it with `input` under -n makes that an error.
qt_json_holds() {
  local file=$1 filter=$2; shift 2
  jq -en "$@" "input | ($filter)" "$file" >/dev/null 2>&1
}

# qt_accel: "kvm" when a bounded KVM boot of the image's kernel reaches its
# own panic (the kernel runs), else "tcg". /dev/kvm existing proves nothing
# here (feasibility: PVM hosts hang a stock kernel).
qt_accel() {
  local cache=$QT_OUT/accel
  if [ -n "${QT_ACCEL:-}" ]; then echo "$QT_ACCEL"; return; fi
  if [ -s "$cache" ]; then cat "$cache"; return; fi
  local kernel=$1 acc=tcg log=$QT_OUT/kvm-probe.log
  if [ -w /dev/kvm ] && [ -n "$kernel" ]; then
    timeout 20 qemu-system-x86_64 -accel kvm -m 256 -smp 1 -display none -vga none -monitor none -no-reboot \
      -serial "file:$log" -kernel "$kernel" -append "console=ttyS0 panic=-1 rdinit=/nonexistent" >/dev/null 2>&1
    grep -q 'Kernel panic' "$log" 2>/dev/null && acc=kvm
  fi
  echo "$acc" >"$cache"; echo "$acc"
}

# Timeouts scale with the accelerator: TCG is ~5-10x slower. QT_SLOW=N
# multiplies them (a machine busy with something else, a niced run).
qt_scale() {
  local t=$1; [ "$(cat "$QT_OUT/accel" 2>/dev/null)" = kvm ] && t=$(( t / 4 + 10 ))
  echo $(( t * ${QT_SLOW:-1} ))
}

# qt_image ROLE -> the image dir, or fails with how to build it
qt_image() {
  local d=$QT_REPO/out/$QT_PROFILE/$1
  if [ ! -f "$d/disk.qcow2" ]; then qt_log "no image at $d: run 'make image ROLE=$1'"; return 1; fi
  echo "$d"
}

# qt_seed_iso SEED_DIR OUT.iso: a NoCloud cidata ISO (iso9660, label cidata)
qt_seed_iso() {
  xorriso -as mkisofs -quiet -o "$2" -V cidata -J -r "$1" >/dev/null 2>&1
}
# qt_seed_vfat SEED_DIR OUT.img: the same as a vfat filesystem labelled CIDATA
qt_seed_vfat() {
  rm -f "$2"; truncate -s 4M "$2"; mkfs.vfat -n CIDATA "$2" >/dev/null
  mcopy -i "$2" "$1"/meta-data "$1"/user-data ::/
}

# qt_probe_disk OUT.img: the harness-only probe (a vfat disk labelled QTEST)
# With QT_ACTION=FILE, the probe runs FILE (as action.sh) after its report:
# harness-only changes to a running node (delete an image, power off).
qt_probe_disk() {
  rm -f "$1"; truncate -s 4M "$1"; mkfs.vfat -n QTEST "$1" >/dev/null
  mcopy -i "$1" "$QT_DIR/probe.sh" ::/probe.sh
  [ -z "${QT_ACTION:-}" ] || mcopy -i "$1" "$QT_ACTION" ::/action.sh
}

# qt_boot NAME IMAGE_DIR SEED_MEDIA [extra qemu args...]
# Boots in the background; sets QT_PID_<NAME>; logs in $QT_OUT/NAME/.
# QT_BOOT=kernel (default) boots the image's own kernel+initrd with its own
# command line plus the probe (systemd.run= makes kernel-command-line.service
# the boot target, so systemd.wants= pulls the normal multi-user.target back in); QT_BOOT=bios|uefi boots the disk's bootloader.
qt_boot() {
  local name=$1 img=$2 seed=$3; shift 3
  local dir=$QT_OUT/$name
  if [ "${QT_BOOT:-}" = pxe ]; then
    # diskless: the NIC's iPXE ROM boots whatever the harness's DHCP/HTTP serve
    rm -rf "$dir"; mkdir -p "$dir"
  elif [ -n "${QT_REUSE:-}" ] && [ -f "$dir/overlay.qcow2" ]; then
    # the same machine booted again: keep its disk, keep the previous logs
    local n=1; while [ -e "$dir/serial.boot$n.log" ]; do n=$((n + 1)); done
    mv "$dir/serial.log" "$dir/serial.boot$n.log"; mv "$dir/probe.log" "$dir/probe.boot$n.log" 2>/dev/null
  else
    rm -rf "$dir"; mkdir -p "$dir"
    qemu-img create -q -f qcow2 -b "$img/disk.qcow2" -F qcow2 "$dir/overlay.qcow2"
    sha256sum "$img/disk.qcow2" | cut -d' ' -f1 >"$dir/artifact.sha256"
  fi
  local accel; accel=$(qt_accel "$img/vmlinuz") extra_append=""
  local args=(-accel "$accel" -m "$QT_MEM" -smp "$QT_SMP" -display none -vga none -monitor none -no-reboot
              -serial "file:$dir/serial.log" -serial "file:$dir/probe.log")
  [ "${QT_BOOT:-}" = pxe ] || args+=(-drive "file=$dir/overlay.qcow2,format=qcow2,if=virtio")
  [ -n "$seed" ] && args+=(-drive "file=$seed,format=raw,if=virtio,readonly=on")
  # the test overlay (stand-ins, test tools): a separate read-only drive the
  # initramfs stacks above the role layer (nodeos.extra=); never in the image
  if [ -n "${QT_EXTRA:-}" ]; then
    # QEMU 7.2 takes a disk serial on the device only (-drive serial= is gone)
    args+=(-drive "file=$QT_EXTRA,format=raw,if=none,readonly=on,id=qtextra" -device "virtio-blk-pci,drive=qtextra,serial=qtextra")
    extra_append="nodeos.extra=/dev/disk/by-id/virtio-qtextra"
  fi
  case ${QT_BOOT:-kernel} in
    kernel)
      qt_probe_disk "$dir/probe.img"
      args+=(-drive "file=$dir/probe.img,format=raw,if=virtio,readonly=on"
             -kernel "$img/vmlinuz" -initrd "$img/initrd.img"
             -append "$(cat "$img/cmdline") console=ttyS0 panic=1 $extra_append ${QT_APPEND:-} systemd.wants=multi-user.target systemd.run=\"/bin/sh -c 'mkdir -p /run/qtest && mount -o ro LABEL=QTEST /run/qtest && exec /bin/sh /run/qtest/probe.sh'\" systemd.run_success_action=none systemd.run_failure_action=none") ;;
    bios) ;;
    pxe) args+=(-boot n) ;;
    uefi)
      cp /usr/share/OVMF/OVMF_VARS_4M.fd "$dir/vars.fd"
      args+=(-drive "if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd"
             -drive "if=pflash,format=raw,file=$dir/vars.fd") ;;
  esac
  local pre=()
  if [ -n "${QT_NETNS:-}" ]; then
    # a tap on the harness's own bridge, inside its own network namespace
    local tap=t${QT_N_TAPS:-0}x$$; QT_N_TAPS=$(( ${QT_N_TAPS:-0} + 1 ))
    ip -n "$QT_NETNS" tuntap add dev "$tap" mode tap
    ip -n "$QT_NETNS" link set "$tap" master br0 up
    args+=(-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" -device "virtio-net-pci,netdev=n0,mac=${QT_MAC:?QT_MAC is required with QT_NETNS}${QT_NIC_OPTS:+,$QT_NIC_OPTS}")
    pre=(ip netns exec "$QT_NETNS")
  elif [ -z "$*" ]; then
    # a NIC on a restricted user-mode network: no route to the host or beyond
    args+=(-nic "user,restrict=on,model=virtio-net-pci")
  fi
  echo "${pre[*]} qemu-system-x86_64 ${args[*]} $*" >"$dir/cmd"
  "${pre[@]}" qemu-system-x86_64 "${args[@]}" "$@" >"$dir/qemu.out" 2>&1 &
  eval "QT_PID_${name//[^a-zA-Z0-9_]/_}=$!"
  echo $! >"$dir/pid"
  date +%s.%N >"$dir/start"
}

# qt_wait NAME PATTERN TIMEOUT_S [BADNESS]: waits for PATTERN in the serial
# log; fails at once on a badness line or when QEMU exits; on timeout prints
# the last 50 lines. Returns 0 when found.
qt_wait() {
  local name=$1 pat=$2 t; t=$(qt_scale "$3"); local bad=${4-$QT_BADNESS}
  local dir=$QT_OUT/$name log=$QT_OUT/$name/serial.log end=$((SECONDS + t))
  while [ $SECONDS -lt $end ]; do
    if grep -aqE "$pat" "$log" 2>/dev/null; then return 0; fi
    if [ -n "$bad" ] && grep -aqE "$bad" "$log" 2>/dev/null; then
      qt_log "$name: badness: $(grep -aE "$bad" "$log" | sed -n 1,3p)"; qt_tail "$name"; return 1
    fi
    if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      sleep 0.5; grep -aqE "$pat" "$log" && return 0
      qt_log "$name: QEMU exited before '$pat'"; qt_tail "$name"; return 1
    fi
    sleep 0.5
  done
  qt_log "$name: timed out after ${t}s waiting for '$pat'"; qt_tail "$name"; return 1
}

# qt_probe_wait NAME TIMEOUT_S: waits for the probe's end marker
qt_probe_wait() {
  local name=$1 t; t=$(qt_scale "$2"); local end=$((SECONDS + t)) f=$QT_OUT/$1/probe.log
  while [ $SECONDS -lt $end ]; do
    grep -aq '^QTEST-END' "$f" 2>/dev/null && return 0
    kill -0 "$(cat "$QT_OUT/$name/pid")" 2>/dev/null || break
    sleep 0.5
  done
  qt_log "$name: no probe report"; tail -n 20 "$f" 2>/dev/null | sed 's/^/#   probe| /' >&2; return 1
}

# qt_fact NAME KEY -> the value the probe reported for KEY ("KEY=value" lines)
qt_fact() { grep -a "^$2=" "$QT_OUT/$1/probe.log" | sed -n 1p | cut -d= -f2- | tr -d '\r'; }

qt_tail() { tail -n 50 "$QT_OUT/$1/serial.log" 2>/dev/null | sed 's/^/#   | /' >&2; }

# qt_exited NAME TIMEOUT_S: waits for QEMU to exit by itself (guest poweroff)
qt_exited() {
  local end=$((SECONDS + $(qt_scale "$2")))
  while [ $SECONDS -lt $end ]; do kill -0 "$(cat "$QT_OUT/$1/pid")" 2>/dev/null || return 0; sleep 0.5; done
  return 1
}
# qt_kill NAME: pulls the plug (SIGKILL), as a power cut would
qt_kill() { kill -9 "$(cat "$QT_OUT/$1/pid")" 2>/dev/null; wait "$(cat "$QT_OUT/$1/pid")" 2>/dev/null; return 0; }

# qt_stop NAME: kills the VM and checks the artifact was not modified
qt_stop() {
  local dir=$QT_OUT/$1 img=${2:-}
  kill "$(cat "$dir/pid")" 2>/dev/null; wait "$(cat "$dir/pid")" 2>/dev/null
  if [ -n "$img" ] && [ -f "$dir/artifact.sha256" ] && [ "$(sha256sum "$img/disk.qcow2" | cut -d' ' -f1)" != "$(cat "$dir/artifact.sha256")" ]; then
    qt_log "$1: the built artifact $img/disk.qcow2 was modified!"; return 1
  fi
  return 0
}

# TAP helpers
QT_N=0 QT_FAILS=0
qt_ok()  { QT_N=$((QT_N+1)); echo "ok $QT_N - $*"; }
qt_nok() { QT_N=$((QT_N+1)); QT_FAILS=$((QT_FAILS+1)); echo "not ok $QT_N - $*"; }
qt_check() { local what=$1; shift; if "$@"; then qt_ok "$what"; else qt_nok "$what"; fi; }
qt_done() { echo "1..$QT_N"; [ "$QT_FAILS" -eq 0 ]; }

# --- the private network ----------------------------------------------------
# qt_net_up CIDR: a network namespace of the harness's own with a bridge br0
# holding CIDR (the harness's address on the test network: stand-ins, HTTP,
# DHCP live there). VMs join it with QT_NETNS=$QT_NETNS QT_MAC=... qt_boot
# (QT_NIC_OPTS: extra virtio-net-pci properties, e.g. event_idx=off).
# Nothing is routed: traffic stays between the VMs and this namespace.
qt_net_up() {
  QT_NETNS=qt-$$-${RANDOM}
  ip netns add "$QT_NETNS" || return 1
  ip -n "$QT_NETNS" link set lo up
  ip -n "$QT_NETNS" link add br0 type bridge
  ip -n "$QT_NETNS" addr add "$1" dev br0
  ip -n "$QT_NETNS" link set br0 up
  export QT_NETNS
  trap qt_net_down EXIT
}
# qt_net_run CMD...: runs CMD in the background inside the namespace
qt_net_run() { ip netns exec "$QT_NETNS" "$@" & }
# qt_net_dhcp FIRST,LAST [dnsmasq args...]: DHCP (and nothing else) on br0
qt_net_dhcp() {
  local range=$1; shift
  ip netns exec "$QT_NETNS" dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 --interface=br0 --bind-interfaces \
    --dhcp-range="$range,12h" --dhcp-leasefile="$QT_OUT/dnsmasq-$QT_NETNS.leases" --log-dhcp "$@" \
    >"$QT_OUT/dnsmasq-$QT_NETNS.log" 2>&1 &
}
qt_net_down() {
  [ -n "${QT_NETNS:-}" ] || return 0
  local p; for p in $(ip netns pids "$QT_NETNS" 2>/dev/null); do kill "$p" 2>/dev/null; done
  sleep 0.5
  for p in $(ip netns pids "$QT_NETNS" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  ip netns del "$QT_NETNS" 2>/dev/null; QT_NETNS=
}

# qt_extra_layer DIR OUT.sqfs: the test overlay from a directory tree
qt_extra_layer() { rm -f "$2"; mksquashfs "$1" "$2" -comp zstd -noappend -no-progress -quiet -all-root >/dev/null; }
