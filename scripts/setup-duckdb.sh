#!/usr/bin/env bash
# Fetch DuckDB's Node.js client once into fosql's cache: the independent
# Parquet reader of query's round-trip test (TestParquetDuckDB).
#
# @duckdb/node-api carries DuckDB itself in its dependency
# @duckdb/node-bindings-linux-x64; npm installs them with --ignore-scripts,
# so no install script runs. The test finds the client here (or through
# FOSQL_DUCKDB_NODE, a node_modules folder) and skips when it is absent.
set -euo pipefail
version=${FOSQL_DUCKDB_VERSION:-1.5.6-r.1}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/fosql/duckdb-node/$version
if [ -f "$cache/node_modules/@duckdb/node-api/package.json" ]; then
  echo "duckdb node-api $version: $cache/node_modules"
  exit 0
fi
command -v npm >/dev/null || { echo "setup: npm is needed to fetch DuckDB's node client (apt-get install npm)" >&2; exit 1; }
mkdir -p "$(dirname "$cache")"
tmp=$(mktemp -d "$(dirname "$cache")/.part.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
npm install --silent --ignore-scripts --no-audit --no-fund --no-save --prefix "$tmp" "@duckdb/node-api@$version" >/dev/null
[ -f "$tmp/node_modules/@duckdb/node-api/package.json" ] || { echo "setup: npm did not install @duckdb/node-api@$version" >&2; exit 1; }
rm -rf "$cache"
mv "$tmp" "$cache"
echo "duckdb node-api $version: $cache/node_modules"
