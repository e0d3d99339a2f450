#!/usr/bin/env bash
# OpenStack config drives (issue #22): each tests/data/config-drive/<case>/
# tree (openstack/latest/{meta_data.json,user_data,network_data.json}) is
# made into a real config-2 ISO with xorriso, read back out of it, and run
# by the agent with --root; the networkd files must be exactly the case's
# expected/ (golden files), the keys root's, and a seedless rerun must run
# from the kept copy. UPDATE_GOLDEN=1 rewrites expected/.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

tmp=$(mktemp -d /tmp/nodeos-cdrive.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

for d in tests/data/config-drive/*/; do
  c=$(basename "$d") iso=$tmp/$c.iso seed=$tmp/$c.seed root=$tmp/$c.root
  xorriso -as mkisofs -quiet -o "$iso" -V config-2 -J -r -m expected "$d" >/dev/null 2>&1
  check "$c: the ISO is labelled config-2" bash -c "blkid -p -s LABEL -o value '$iso' | grep -qx config-2"
  mkdir -p "$seed" "$root"
  xorriso -osirrox on -indev "$iso" -extract / "$seed" >/dev/null 2>&1; chmod -R u+w "$seed"
  check "$c: validate takes the config drive" "$AGENT" validate "$seed"
  if "$AGENT" run --root "$root" --seed "$seed" >"$root.log" 2>&1; then ok "$c: run --root succeeds"; else nok "$c: run failed: $(tail -3 "$root.log")"; continue; fi
  if [ "${UPDATE_GOLDEN:-}" = 1 ]; then rm -rf "$d/expected"; mkdir -p "$d/expected"; cp "$root"/etc/systemd/network/10-nodeos* "$d/expected/"; fi
  if out=$(diff -r "$d/expected" "$root/etc/systemd/network" 2>&1); then ok "$c: networkd files are exactly expected/"; else nok "$c: $out"; fi
  want_id=$(sed -n 's/^ *"uuid": *"\([^"]*\)".*/\1/p' "$d/openstack/latest/meta_data.json")
  check "$c: the instance-id is meta_data.json's uuid" grep -q "SUCCESS instance=$want_id " "$root.log"
  check "$c: public_keys and keys: root's one key" test "$(grep -c . "$root/root/.ssh/authorized_keys")" = 1
  check "$c: the kept copy is a config drive tree, 0600" test "$(stat -c %a "$root/var/lib/node-agent/seed/openstack/latest/meta_data.json")" = 600
  "$AGENT" run --root "$root" --cmdline /dev/null >"$root.log" 2>&1 || true
  if grep -q 'step=seed status=cached' "$root.log" && grep -q 'step=network status=unchanged' "$root.log" && grep -q 'SUCCESS' "$root.log"; then
    ok "$c: a seedless boot runs from the kept copy"
  else nok "$c: seedless: $(grep -E 'step=(seed|network)|NODEOS' "$root.log")"; fi
done

tap_end
