#!/usr/bin/env bash
# Seeds as cloud-init's own tool writes them (issue #22): cloud-localds
# (cloud-image-utils) makes a cidata ISO or vfat image from the kafka example
# seed, whose user-data has no network section, and a network-config of
# tests/data/network-config/<case>/; the medium's files are read back out of
# the filesystem, the agent runs with --root on them, and the networkd files
# it leaves must be exactly the case's expected/ (golden files).
# UPDATE_GOLDEN=1 rewrites expected/ from what the agent wrote.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

tmp=$(mktemp -d /tmp/nodeos-netcfg.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cases=tests/data/network-config
example=cloud-init/examples/kafka

# The example's user-data without its network section: network-config is
# the one source of network truth here.
base_user=$tmp/user-data
sed '/^network:/,/^  address:/d' "$example/user-data" >"$base_user"
if grep -q '^network:' "$base_user"; then nok "base user-data still has a network section"; fi

# medium CASE_DIR FORMAT OUT_DIR: cloud-localds writes the medium, its
# files are copied out of the filesystem it made
medium() {
  local net=$1 fmt=$2 out=$3 img=$tmp/seed.$2
  rm -rf "$out" "$img"; mkdir -p "$out"
  cloud-localds -f "$fmt" --network-config="$net" "$img" "$base_user" "$example/meta-data"
  if [ "$fmt" = iso ]; then
    xorriso -osirrox on -indev "$img" -extract / "$out" >/dev/null 2>&1
  else
    mcopy -s -i "$img" '::/*' "$out/"
  fi
  chmod -R u+w "$out"
}

run_agent() { "$AGENT" run --root "$1" --seed "$2" >"$1.log" 2>&1; }

# networkd_files ROOT: "name" lines of what the agent owns there
networkd_files() { (cd "$1/etc/systemd/network" && ls -1 10-nodeos*) 2>/dev/null || true; }

for d in "$cases"/*/; do
  c=$(basename "$d")
  for fmt in iso vfat; do
    seed=$tmp/$c-$fmt.seed root=$tmp/$c-$fmt.root
    medium "$d/network-config" "$fmt" "$seed"
    check "$c ($fmt): cloud-localds put network-config on the medium" test -s "$seed/network-config"
    mkdir -p "$root"
    if run_agent "$root" "$seed"; then ok "$c ($fmt): run --root succeeds"; else nok "$c ($fmt): run failed: $(tail -3 "$root.log")"; continue; fi
    if [ "${UPDATE_GOLDEN:-}" = 1 ] && [ "$fmt" = iso ]; then
      rm -rf "$d/expected"; mkdir -p "$d/expected"
      cp "$root"/etc/systemd/network/10-nodeos* "$d/expected/"
    fi
    if out=$(diff -r "$d/expected" "$root/etc/systemd/network" 2>&1); then
      ok "$c ($fmt): networkd files are exactly expected/"
    else
      nok "$c ($fmt): networkd files differ from expected/: $out"
    fi
    log=$(cat "$root.log")
    case $log in
      *"step=network status=done"*"from the seed's network-config (version"*) ok "$c ($fmt): the run says which links it configured" ;;
      *) nok "$c ($fmt): no network summary in the run's output" ;;
    esac
    run_agent "$root" "$seed"
    if grep -q 'step=network status=unchanged' "$root.log"; then ok "$c ($fmt): a second run leaves the network alone"; else nok "$c ($fmt): second run touched the network"; fi
  done
done

# The node keeps the seed as applied, network-config included; a boot with
# no seed medium runs from that copy and leaves the network as it is.
root=$tmp/v2-static-by-mac-iso.root
check "the kept copy holds the network-config, 0600" test "$(stat -c %a "$root/var/lib/node-agent/seed/network-config")" = 600
"$AGENT" run --root "$root" --cmdline /dev/null >"$root.log" 2>&1 || nok "seedless run failed: $(tail -3 "$root.log")"
if grep -q 'step=seed status=cached' "$root.log" && grep -q 'step=network status=unchanged' "$root.log"; then
  ok "a seedless boot runs from the kept copy and leaves the network alone"
else
  nok "seedless boot: $(grep -E 'step=(seed|network)' "$root.log")"
fi

# Convergence: the same node given another network-config keeps exactly the
# new files (the old link's .network and .link are removed).
root=$tmp/v2-static-by-mac-iso.root seed=$tmp/switch.seed
medium "$cases/v2-two-links/network-config" iso "$seed"
run_agent "$root" "$seed" || nok "switch: run failed: $(tail -3 "$root.log")"
want=$(ls -1 "$cases/v2-two-links/expected")
have=$(networkd_files "$root")
if [ "$have" = "$want" ]; then ok "a changed network-config leaves exactly the new files"; else nok "after the switch: $have (want $want)"; fi
check "the removal is reported" grep -q 'removed /etc/systemd/network/10-nodeos-lan.link' "$root.log"

# One source of network truth: user-data's network section and a
# network-config together are refused with one line naming both.
seed=$tmp/both.seed
medium "$cases/v2-static-by-mac/network-config" iso "$seed"
cp "$example/user-data" "$seed/user-data"
if out=$("$AGENT" validate "$seed" 2>&1); then
  nok "both sources validated"
else
  want="$seed/network-config:1:1: network-config and user-data's network section ($seed/user-data:9:1) both configure the network: keep one"
  if [ "$out" = "$want" ]; then ok "both sources: refused with one line naming both"; else nok "both sources: got: $out"; fi
fi

# vendor-data as cloud-localds -V writes it: refused, not ignored
seed=$tmp/vendor.seed img=$tmp/vendor.iso
rm -rf "$seed"; mkdir -p "$seed"
printf '#cloud-config\npackages: [htop]\n' >"$tmp/vendor-data"
cloud-localds -V "$tmp/vendor-data" "$img" "$example/user-data" "$example/meta-data"
xorriso -osirrox on -indev "$img" -extract / "$seed" >/dev/null 2>&1
chmod -R u+w "$seed"
if out=$("$AGENT" validate "$seed" 2>&1); then nok "vendor-data validated"; else
  case $out in
    *"vendor-data:1:1: vendor-data is not read by the agent"*) ok "cloud-localds -V vendor-data: refused at vendor-data:1:1" ;;
    *) nok "vendor-data: got: $out" ;;
  esac
fi

tap_end
