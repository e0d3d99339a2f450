#!/usr/bin/env bash
# bench/cloud-init-tree.sh IMAGE_DIR OUT_DIR: Debian's cloud-init and what it
# needs beyond the image (python3 is not in it), as a tree to stack over
# the image in a test overlay (bench/firstboot.sh). Made on this machine:
# a minimal Debian 12 with cloud-init (mmdebstrap, the machine's own apt
# sources, as the image builder uses them), then the files of every package
# the image does not have (dpkg -L), with /bin, /sbin, /lib moved under
# /usr (the image's root is merged-/usr: a real /lib in an overlay layer
# would hide its /lib -> usr/lib link), and the systemd links the
# packages' maintainer scripts made. Cached by the image's package list.
set -euo pipefail
img=$1 out=$2
src=""
for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do [ -s "$f" ] && { src=$f; break; }; done
[ -n "$src" ] || { echo "cloud-init-tree: no apt sources on this machine" >&2; exit 1; }
key=$(jq -r '.packages | keys[]' "$img/manifest.json" | sha256sum | cut -c1-16)
[ -f "$out/.key" ] && [ "$(cat "$out/.key")" = "$key" ] && { echo "$out"; exit 0; }

root=$out.root; rm -rf "$root" "$out"; mkdir -p "$out"
mmdebstrap --mode=root --variant=minbase --include=cloud-init --skip=essential/unlink \
  --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb' bookworm "$root" "$src" >"$out.log" 2>&1 ||
  { echo "cloud-init-tree: mmdebstrap failed (log: $out.log)" >&2; exit 1; }
jq -r '.packages | keys[]' "$img/manifest.json" | sort -u >"$out.base"
chroot "$root" dpkg-query -W -f '${Package}\n' | sort -u >"$out.all"
comm -23 "$out.all" "$out.base" >"$out.added"
# every file and directory of the added packages, as relative paths
list=$out.files; : >"$list"
while read -r p; do chroot "$root" dpkg -L "$p"; done <"$out.added" | grep '^/.' | sort -u |
  while read -r f; do [ -e "$root$f" ] || [ -L "$root$f" ] && echo "${f#/}"; done >"$list"
# links maintainer scripts made (systemctl enable, update-alternatives)
( cd "$root" && find etc/systemd/system etc/alternatives -type l 2>/dev/null ) |
  while read -r l; do
    case $(readlink "$root/$l") in *cloud*|*python*) echo "$l" ;; esac
  done >>"$list"
tar -C "$root" --no-recursion -cf - -T "$list" |
  tar -C "$out" --transform='s,^\(bin\|sbin\|lib\|lib64\)/,usr/\1/,S' -xf -
for d in bin sbin lib lib64; do
  [ -d "$out/$d" ] && [ ! -L "$out/$d" ] && { cp -a "$out/$d/." "$out/usr/$d/"; rm -rf "${out:?}/$d"; }
done
# the root stays until the next build (to look into); it is not in the overlay
echo "$key" >"$out/.key"
echo "$out"
