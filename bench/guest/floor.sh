#!/bin/bash
# The "floor" boot of bench/firstboot.sh: only the commands any first-boot
# tool has to run to turn this image into the seed's lb, with everything a
# tool could do ahead of time already done (the files are the agent's
# offline rendering of the seed, carried in the overlay). No parsing, no
# validation, no state, no rendering: read the seed medium, put the files in
# place, set the hostname, apply the sysctls, reload networkd, check
# haproxy.cfg, enable and start haproxy (the same commands cloud-init's
# runcmd runs in the cloud-init boot). Each part is timed with bash's
# EPOCHREALTIME (no fork) and printed as "bench-floor: part=NAME ms=N";
# the guest driver collects the lines. Exits non-zero if a command fails, so
# a broken floor boot cannot pass for a fast one.
set -u
shopt -s nullglob
files=/usr/local/share/nodeos-bench/floor
export SYSTEMCTL_SKIP_SYSV=1 # as the agent's unit sets it
us() { echo "${EPOCHREALTIME/./}"; }
part() {
  local name=$1 t0; shift
  t0=$(us)
  "$@" || { echo "bench-floor: part=$name FAILED: $*"; exit 1; }
  echo "bench-floor: part=$name ms=$(( ($(us) - t0) / 1000 ))"
}
# the cidata drive as udev names it (the agent waits for udev the same way,
# bounded); mounted as the ISO the harness makes
read_seed() {
  local i=0
  while [ ! -e /dev/disk/by-label/cidata ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
  mkdir -p /run/bench-floor-seed &&
    mount -t iso9660 -o ro /dev/disk/by-label/cidata /run/bench-floor-seed &&
    cat /run/bench-floor-seed/user-data /run/bench-floor-seed/meta-data >/dev/null &&
    umount /run/bench-floor-seed
}
# The plain files go in with one cp. A unit drop-in the image already
# holds, in /etc or baked into /usr/lib/systemd/system (node-agent bake), is
# not written: the agent's limits step finds it "in the image" the same
# way. Only a drop-in the image lacks needs a daemon-reload.
units_changed=0
put_files() {
  local f
  cp -a "$files/files/etc/." /etc/ || return 1
  for f in "$files"/units/system/*/*; do
    f=${f#"$files"/units/system/}
    cmp -s "$files/units/system/$f" "/usr/lib/systemd/system/$f" && continue
    cmp -s "$files/units/system/$f" "/etc/systemd/system/$f" && continue
    units_changed=1
    mkdir -p "/etc/systemd/system/${f%/*}" && cp -p "$files/units/system/$f" "/etc/systemd/system/$f" || return 1
  done
}
set_hostname() { local h; read -r h </etc/hostname && echo "$h" >/proc/sys/kernel/hostname; }
daemon_reload() { [ "$units_changed" = 0 ] || systemctl daemon-reload; }

part seed read_seed
part files put_files
part hostname set_hostname
part sysctl sysctl -q -p /etc/sysctl.d/90-nodeos-lb.conf
part network networkctl reload
part daemon-reload daemon_reload
part check haproxy -c -q -f /etc/haproxy/haproxy.cfg
# --no-reload: enabling only adds the wants link, which needs no reload of
# the manager (the agent's sd-bus EnableUnitFiles does not reload either)
part start systemctl enable --no-reload --now haproxy.service
# releases the harness probe, which waits for the agent's sentinel
mkdir -p /var/lib/node-agent && touch /var/lib/node-agent/success
