#!/usr/bin/env bash
# The scale benchmark of BENCHMARKS.md ("A million samples"): N records and
# N x D vectors (testdata/scalegen, seeded) imported from .jsonl and .npy,
# uniqueness over the imported vectors, and the vectors exported again, each
# step a separate fosql process timed with /usr/bin/time (wall, CPU, peak
# RSS). The bulk import runs beside a peer: Python's sqlite3 module reading
# the same .jsonl into a table with a unique filepath index, in one
# transaction.
#   N=1000000 D=128 OUT=/tmp/fosql-scale scripts/bench-scale.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
D=${D:-128}
OUT=${OUT:-/tmp/fosql-scale}
GO=${GO:-go}
mkdir -p "$OUT"
$GO build -o "$OUT/fosql" ./cmd/fosql
if [ ! -f "$OUT/vectors-$N-$D.npy" ]; then
  $GO run ./testdata/scalegen -n "$N" -d "$D" -out "$OUT"
  mv "$OUT/samples.jsonl" "$OUT/samples-$N.jsonl"
  mv "$OUT/vectors.npy" "$OUT/vectors-$N-$D.npy"
fi
timed() { # timed LABEL COMMAND...: runs it, prints one line of figures
  local label=$1; shift
  /usr/bin/time -f "$label: %e s wall, %U s user, %S s sys, %M KB peak RSS" "$@" 2>"$OUT/time.err" >/dev/null \
    || { cat "$OUT/time.err" >&2; exit 1; }
  tail -1 "$OUT/time.err"
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$OUT/db" "$OUT/out.npy" "$OUT/out.ids.txt" "$OUT/peer.sqlite"
F="$OUT/fosql"
timed "fosql IMPORT $N records from .jsonl" "$F" -db "$OUT/db" -q -e "IMPORT INTO big FROM '$OUT/samples-$N.jsonl' WITH (check_files = false)"
timed "sqlite3 (Python) import of the same .jsonl" python3 - "$OUT/samples-$N.jsonl" "$OUT/peer.sqlite" <<'PY'
import json, sqlite3, sys
con = sqlite3.connect(sys.argv[2])
con.execute("CREATE TABLE big (filepath TEXT UNIQUE, tags TEXT, score INT)")
def rows():
    with open(sys.argv[1]) as f:
        for line in f:
            r = json.loads(line)
            yield r["filepath"], json.dumps(r.get("tags", [])), r.get("score")
con.executemany("INSERT INTO big VALUES (?, ?, ?)", rows())
con.commit()
PY
timed "fosql IMPORT $N x $D vectors from .npy" "$F" -db "$OUT/db" -q -e "IMPORT INTO big (emb) FROM '$OUT/vectors-$N-$D.npy'"
timed "fosql COMPUTE UNIQUENESS over them" "$F" -db "$OUT/db" -q -e "COMPUTE UNIQUENESS ON big WITH (embeddings = 'emb')"
timed "fosql export to .npy" "$F" -db "$OUT/db" -q -e "SELECT id, emb FROM big INTO OUTFILE '$OUT/out.npy'"
"$F" -db "$OUT/db" -e "SELECT count(*), count(insights.uniqueness.scalar), max(insights.uniqueness.scalar) FROM big"
