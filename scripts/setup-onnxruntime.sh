#!/usr/bin/env bash
# Fetch ONNX Runtime's shared library once into fosql's cache.
#
# Debian ships no libonnxruntime, so the library is taken from the npm package
# onnxruntime-node, which carries it inside its tarball. `npm pack` only
# downloads the tarball: the package's install scripts never run.
set -euo pipefail
version=${FOSQL_ORT_VERSION:-1.24.1}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/fosql/onnxruntime/$version
lib=$cache/libonnxruntime.so
if [ -s "$lib" ]; then
  echo "onnxruntime $version: $lib"
  exit 0
fi
command -v npm >/dev/null || { echo "setup: npm is needed to fetch ONNX Runtime (apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "onnxruntime-node@$version" >/dev/null)
tar -xzf "$tmp"/onnxruntime-node-"$version".tgz -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
mkdir -p "$cache"
mv "$tmp"/package/bin/napi-v6/linux/x64/libonnxruntime.so.1 "$lib.part"
mv "$lib.part" "$lib"
echo "onnxruntime $version: $lib"
