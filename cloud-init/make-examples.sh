#!/usr/bin/env bash
# Regenerates cloud-init/examples/ from the guide's inventories with
# nodeos-seedgen, giving the nodes the guide's hostnames (master, dojot,
# kafka, x509, verne-1..3, lb). The examples carry a real CA, key and token
# minted for them: they are EXAMPLES, public in this repository, never to
# be used for a real cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
make --no-print-directory BUILD="$BUILD" "$BUILD/nodeos-seedgen" >/dev/null
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
name_hosts() { # inventory dir, then name=hostname pairs
  local inv=$1; shift; mkdir -p "$tmp/$inv"; cp -r "cloud-init/inventories/$inv/." "$tmp/$inv/"
  for pair in "$@"; do
    sed -i "/^    ${pair%%=*}:\$/{n;s/\$/\n      nodeos_hostname: ${pair#*=}/}" "$tmp/$inv/hosts.yaml"
  done
}
name_hosts 100k master_host=master dojot_worker_host=dojot kafka_worker_host=kafka x509_worker_host=x509 \
  first_verne_worker_host=verne-1 second_verne_worker_host=verne-2 third_verne_worker_host=verne-3 haproxy=lb
name_hosts few-devices master_host=master worker_host=dojot nginx=lb
"$BUILD/nodeos-seedgen" --no-iso --token-ttl 87600 "$tmp/100k" "$tmp/out-100k" >/dev/null
"$BUILD/nodeos-seedgen" --no-iso --token-ttl 87600 "$tmp/few-devices" "$tmp/out-few" >/dev/null
rm -rf cloud-init/examples; mkdir -p cloud-init/examples/few-devices
for r in master dojot kafka x509 lb; do cp -r "$tmp/out-100k/seeds/$r" cloud-init/examples/$r; done
cp -r "$tmp/out-100k/seeds/verne-1" cloud-init/examples/verne
for r in master dojot lb; do cp -r "$tmp/out-few/seeds/$r" cloud-init/examples/few-devices/$r; done
sed -i '2i # EXAMPLE SEED: its CA key and token are public. Mint your own with `make seeds`.' cloud-init/examples/*/user-data cloud-init/examples/few-devices/*/user-data
chmod -R u+rwX,go+rX cloud-init/examples
echo "examples regenerated under cloud-init/examples/"
