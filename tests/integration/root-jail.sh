#!/usr/bin/env bash
# The agent never writes outside its root (src/basic/chase.h): for every
# role, each directory the agent writes into is made an absolute symlink to a
# directory of the build host outside the tree; the run must succeed, leave
# the outside tree byte-identical, and put every file where the boot would
# see it (the link resolved inside the tree). A link that climbs out, a loop,
# and `bake` on an image-like tree (absolute .wants/ links, resolv.conf). TAP.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit
. tests/integration/lib.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
[ -x "$AGENT" ] || { nok "$AGENT is built"; tap_end; exit; }

mapfile -t roles < <(find roles -mindepth 2 -maxdepth 2 -name role.yaml -printf '%h\n' | xargs -n1 basename | sort)
outside=$tmp/outside
# sums: a listing of the outside tree with every file's checksum
sums() { (cd "$outside" && find . -printf '%y %m %p\n' | sort && find . -type f -exec sha256sum {} + | sort); }

for r in "${roles[@]}"; do
  seed=cloud-init/examples/$r
  [ -d "$seed" ] || continue
  clean=$tmp/$r-clean
  mkdir -p "$clean"
  if ! "$AGENT" run --root "$clean" --seed "$seed" >"$clean.log" 2>&1; then
    nok "$r: a clean run --root succeeds first: $(tail -2 "$clean.log")"; continue
  fi
  # the directories holding what the run wrote, deepest only (a link
  # replaces a directory: one that holds others stays real)
  # (and the parents of the empty ones it made: the volume directories)
  mapfile -t dirs < <(cd "$clean" && { find . -mindepth 2 -type f -printf '%h\n'; find . -mindepth 2 -type d -empty -printf '%h\n'; } |
                      sed 's#^\./##' | sort -u)
  leaves=()
  for d in "${dirs[@]}"; do
    deeper=no
    for e in "${dirs[@]}"; do case $e in "$d"/*) deeper=yes ;; esac; done
    [ "$deeper" = no ] && leaves+=("$d")
  done
  rm -rf "$outside"; mkdir -p "$outside"; echo sentinel >"$outside/keep"
  hostile=$tmp/$r-hostile; mkdir -p "$hostile"
  for d in "${leaves[@]}"; do
    target=$outside/${d//\//_}
    mkdir -p "$target" "$hostile/$(dirname "$d")"
    ln -s "$target" "$hostile/$d"
  done
  before=$(sums)
  if "$AGENT" run --root "$hostile" --seed "$seed" >"$hostile.log" 2>&1; then
    ok "$r: run --root succeeds with ${#leaves[@]} directories linked out of the tree (${leaves[*]})"
  else
    nok "$r: run --root with linked directories failed: $(tail -2 "$hostile.log")"
  fi
  if [ "$(sums)" = "$before" ]; then ok "$r: nothing outside the root changed"; else nok "$r: the outside tree changed: $(diff <(echo "$before") <(sums) | sed -n 1,5p)"; fi
  missing=""
  while IFS= read -r f; do
    d=$(dirname "$f")
    where=$hostile/$f
    for l in "${leaves[@]}"; do [ "$d" = "$l" ] && where=$hostile$outside/${d//\//_}/$(basename "$f"); done
    [ -e "$where" ] || missing="$missing $f"
  done < <(cd "$clean" && { find . -mindepth 2 -type f; find . -mindepth 2 -type d -empty; } | sed 's#^\./##')
  if [ -z "$missing" ]; then ok "$r: every file landed where the boot would see it"; else nok "$r: not where the boot sees them:$missing"; fi
done

# a link that climbs out of the tree is one clear error naming the path
root=$tmp/climb; mkdir -p "$root/etc/systemd" "$outside"; ln -s ../../../outside "$root/etc/systemd/network"
before=$(sums)
if "$AGENT" run --root "$root" --seed cloud-init/examples/lb >"$root.log" 2>&1; then nok "climb: a run through a link out of the tree must fail"
else ok "climb: a run through a link out of the tree fails"; fi
check "climb: the error names the file and says it leads out" grep -q 'cannot write /etc/systemd/network/10-nodeos.network: leads out of the root' "$root.log"
if [ "$(sums)" = "$before" ]; then ok "climb: nothing outside the root changed"; else nok "climb: the outside tree changed"; fi
root=$tmp/loop; mkdir -p "$root/etc/systemd"; ln -s network2 "$root/etc/systemd/network"; ln -s network "$root/etc/systemd/network2"
"$AGENT" run --root "$root" --seed cloud-init/examples/lb >"$root.log" 2>&1
check "loop: the error names the file and the loop" grep -q 'cannot write /etc/systemd/network/10-nodeos.network: a symlink loop on the way' "$root.log"

# bake on an image-like tree: absolute .wants/ links and resolv.conf, and the
# unit directory itself a link to the host's
root=$tmp/bake; rm -rf "$outside"; mkdir -p "$outside/units" "$root/usr/lib/systemd" "$root/etc/systemd/system/multi-user.target.wants"
echo sentinel >"$outside/keep"
ln -s "$outside/units" "$root/usr/lib/systemd/system"
ln -s /usr/lib/systemd/system/haproxy.service "$root/etc/systemd/system/multi-user.target.wants/haproxy.service"
ln -s /run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
before=$(sums)
if "$AGENT" bake lb --root "$root" >"$root.log" 2>&1; then ok "bake lb on an image-like tree succeeds"; else nok "bake lb failed: $(tail -2 "$root.log")"; fi
if [ "$(sums)" = "$before" ]; then ok "bake: nothing outside the tree changed"; else nok "bake: the outside tree changed"; fi
check "bake: the drop-in is where the boot reads it" test -f "$root$outside/units/haproxy.service.d/90-nodeos-limits.conf"
check "bake: the .wants/ link and resolv.conf are untouched links" test -L "$root/etc/systemd/system/multi-user.target.wants/haproxy.service" -a -L "$root/etc/resolv.conf"
tap_end
