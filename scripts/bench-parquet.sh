#!/usr/bin/env bash
# The Parquet benchmark of BENCHMARKS.md: N samples with a D-float vector
# (testdata/scalegen, seeded) exported from fosql to .parquet, .jsonl and
# .npy, and imported back from each, every step a separate fosql process,
# ROUNDS rounds with the formats interleaved; the median wall time of each
# step, and DuckDB (node client, scripts/setup-duckdb.sh) reading the same
# Parquet file as the independent peer.
#   N=100000 D=128 ROUNDS=5 OUT=/tmp/fosql-parquet scripts/bench-parquet.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100000}
D=${D:-128}
ROUNDS=${ROUNDS:-5}
OUT=${OUT:-/tmp/fosql-parquet}
GO=${GO:-go}
IN=$OUT/inputs-$N-$D
[ -f "$IN/vectors.npy" ] || $GO run ./testdata/scalegen -n "$N" -d "$D" -out "$IN"
F="$OUT/fosql"
$GO build -o "$F" ./cmd/fosql
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$OUT/db"
"$F" -db "$OUT/db" -q -e "IMPORT INTO big FROM '$IN/samples.jsonl' WITH (check_files = false); IMPORT INTO big (emb) FROM '$IN/vectors.npy'"
duck=""
mods=$(ls -d "${XDG_CACHE_HOME:-$HOME/.cache}"/fosql/duckdb-node/*/node_modules 2>/dev/null | tail -1 || true)
if [ -n "$mods" ] && command -v node >/dev/null; then
  duck="$OUT/duck.js"
  cat >"$duck" <<'JS'
const { DuckDBInstance } = require(process.argv[2] + "/@duckdb/node-api");
(async () => {
  const con = await (await DuckDBInstance.create(":memory:")).connect();
  const r = await con.runAndReadAll(process.argv[3]);
  console.log(JSON.stringify(r.getRowObjectsJson()));
})().catch((e) => { console.error(String(e)); process.exit(1); });
JS
else
  echo "DuckDB's node client is not installed (scripts/setup-duckdb.sh): no DuckDB figures" >&2
fi
: >"$OUT/times.tsv"
timed() { # timed LABEL COMMAND...: appends LABEL and the wall seconds to times.tsv
  local label=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>"$OUT/err" || { cat "$OUT/err" >&2; exit 1; }
  t1=$(date +%s.%N)
  printf '%s\t%s\n' "$label" "$(echo "$t1 - $t0" | bc)" >>"$OUT/times.tsv"
}
cols="id, filepath, tags, score, emb"
for r in $(seq "$ROUNDS"); do
  rm -f "$OUT"/x.parquet "$OUT"/x.jsonl "$OUT"/x.npy "$OUT"/x.ids.txt
  timed "export .parquet ($cols)" "$F" -db "$OUT/db" -q -e "SELECT $cols FROM big INTO OUTFILE '$OUT/x.parquet'"
  timed "export .jsonl ($cols)" "$F" -db "$OUT/db" -q -e "SELECT $cols FROM big INTO OUTFILE '$OUT/x.jsonl'"
  timed "export .npy (id, emb)" "$F" -db "$OUT/db" -q -e "SELECT id, emb FROM big INTO OUTFILE '$OUT/x.npy'"
  rm -rf "$OUT/in"
  timed "import .parquet" "$F" -db "$OUT/in" -q -e "IMPORT INTO p FROM '$OUT/x.parquet' WITH (check_files = false)"
  timed "import .jsonl" "$F" -db "$OUT/in" -q -e "IMPORT INTO j FROM '$OUT/x.jsonl' WITH (check_files = false)"
  timed "import .jsonl records, then .npy vectors" "$F" -db "$OUT/in" -q -e "IMPORT INTO n FROM '$IN/samples.jsonl' WITH (check_files = false); IMPORT INTO n (emb) FROM '$OUT/x.npy'"
  if [ -n "$duck" ]; then
    timed "DuckDB reads the .parquet (count, sum of every vector)" node "$duck" "$mods" "SELECT count(*), sum(list_sum(emb)) FROM read_parquet('$OUT/x.parquet')"
  fi
done
"$F" -db "$OUT/in" -e "SELECT count(*) FROM p; SELECT count(*) FROM j; SELECT count(*) FROM n"
ls -l "$OUT"/x.parquet "$OUT"/x.jsonl "$OUT"/x.npy
python3 - "$OUT/times.tsv" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    label, t = line.rstrip("\n").split("\t")
    rows.setdefault(label, []).append(float(t))
for label, ts in rows.items():
    print(f"{label}\tmedian {statistics.median(ts):.2f} s\t(of {len(ts)}: {', '.join(f'{t:.2f}' for t in ts)})")
PY
