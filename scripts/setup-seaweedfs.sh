#!/usr/bin/env bash
# Build SeaweedFS's `weed` binary once into fosql's cache; the TestS3… tests
# run it as a real S3-compatible server.
#
# `go install …/weed@version` refuses the module (its go.mod has replace
# directives), so the module is downloaded, copied somewhere writable and
# built inside its own directory. The build takes several minutes on two
# cores; the binary is cached and a second run returns at once.
set -euo pipefail
GO=${GO:-go}
version=${FOSQL_SEAWEEDFS_VERSION:-v0.0.0-20261109003541-7506e5f91cd6}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/fosql/seaweedfs/$version
bin=$cache/weed
if [ -x "$bin" ]; then
  echo "seaweedfs $version: $bin"
  exit 0
fi
dir=$("$GO" mod download -json "github.com/seaweedfs/seaweedfs@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$dir" ] && [ -d "$dir" ] || { echo "setup-seaweedfs: go mod download gave no module directory" >&2; exit 1; }
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/build.XXXXXX")
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
cp -R "$dir" "$tmp/src"
chmod -R u+w "$tmp/src"
(cd "$tmp/src" && GOFLAGS=-mod=mod "$GO" build -o "$tmp/weed" ./weed)
mv "$tmp/weed" "$bin.part"
mv "$bin.part" "$bin"
echo "seaweedfs $version: $bin"
