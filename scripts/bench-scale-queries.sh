#!/bin/bash
# bench-scale-queries.sh: the figures of BENCHMARKS.md's "Queries at
# 1,000,000 rows". Builds (once) the 1,000,000-sample peer dataset under
# $FOSQL_BENCH_DIR (default: the system temp directory's fosql-bench) and
# peer-sqlite's table of the same rows, then, ROUNDS times (default 3),
# times the scale queries in fosql (BenchmarkScale1M, median of 7) and in
# SQLite (peer-sqlite, median of 7) one after the other, and finally
# measures the peak RSS of whole one-shot shell processes with
# /usr/bin/time -f %M.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
ROUNDS=${ROUNDS:-3}
root=${FOSQL_BENCH_DIR:-${TMPDIR:-/tmp}/fosql-bench}
peer=${PEER_SQLITE:-../shared/tools/peer-sqlite}
mkdir -p "$root"
root=$(cd "$root" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
$GO build -o "$work/fosql" ./cmd/fosql
$GO test -c -o "$work/query.test" ./query
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$ROUNDS"); do
  echo "== round $round (load $(cut -d' ' -f1-3 /proc/loadavg))"
  (cd query && FOSQL_BENCH_DIR="$root" "$work/query.test" -test.run '^$' -test.bench 'Scale1M' -test.benchtime 7x) | grep Benchmark
  "$peer" "$root/peer.sqlite" | grep -E 'built|filter-scan|group-by'
  # SQLite's CPU time for the same queries (median of 7), which a busy
  # machine disturbs less than wall time.
  python3 - "$root/peer.sqlite" <<'PY'
import sqlite3, statistics, sys, time
con = sqlite3.connect(sys.argv[1])
for name, q in [("filter-scan-width", "SELECT count(*) FROM walkthrough WHERE width > 32"),
                ("group-by-tag", "SELECT value, count(*) FROM walkthrough, json_each(tags) GROUP BY value"),
                ("group-by-width", "SELECT width, count(*) FROM walkthrough GROUP BY width"),
                ("group-by-filepath", "SELECT filepath, count(*) FROM walkthrough GROUP BY filepath")]:
    con.execute(q).fetchall(); ts = []
    for _ in range(7):
        t = time.process_time(); con.execute(q).fetchall(); ts.append(time.process_time() - t)
    print(f"sqlite {sqlite3.sqlite_version} {name}: median cpu {statistics.median(ts) * 1000:.1f} ms")
PY
done
db="$root/peer2-1000000"
for q in "SELECT * FROM walkthrough" \
  "SELECT filepath, count(*) FROM walkthrough GROUP BY filepath" \
  "SELECT filepath, count(*) FROM walkthrough WHERE metadata.width > 0 GROUP BY filepath" \
  "SELECT metadata.width, count(*) FROM walkthrough GROUP BY metadata.width" \
  "SELECT tag, count(*) FROM walkthrough GROUP BY tag" \
  "SELECT count(*) FROM walkthrough WHERE metadata.width > 32"; do
  /usr/bin/time -f '%M KB, %e s' -o "$work/time" "$work/fosql" -db "$db" -auto-compute off -e "$q" >"$work/rows"
  echo "rss $(cat "$work/time"), $(($(wc -l <"$work/rows") - 1)) rows: $q"
done
