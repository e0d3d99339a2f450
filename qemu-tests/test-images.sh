#!/usr/bin/env bash
# Prints the directory of locally built test images (for IMAGES_DIR=), or
# with --refs the image references they carry.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=qemu-tests/out/images
[ -s "$dir/nodeos-test-busybox.tar" ] || image/make-test-images "$dir" >/dev/null
if [ "${1:-}" = --refs ]; then
  for a in "$dir"/*.tar; do bsdtar -xOf "$a" manifest.json | jq -r '.[].RepoTags[]'; done
else
  realpath "$dir"
fi
