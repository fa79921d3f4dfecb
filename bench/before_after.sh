#!/usr/bin/env bash
# pytest-boss alone, two checkouts side by side: the bench's fresh-database (100 tests) and
# settings (50 tests) suites, run alternately ROUNDS times with this machine's Python, each
# checkout's code first on PYTHONPATH; prints each wall time, then the medians.
#
#   bench/before_after.sh /path/to/before-checkout /path/to/after-checkout [ROUNDS] [ARGS...]
#
# ARGS go to every inner pytest (e.g. --pg-bin=/usr/lib/postgresql/15/bin). Used for the
# isolation before/after in bench/RESULTS.md.
set -euo pipefail
before=$1 after=$2 rounds=${3:-5}
shift $(( $# < 3 ? $# : 3 ))
suites="$(cd "$(dirname "$0")" && pwd)/suites"
quiet=(-q -p no:cacheprovider -p no:randomly -p no:hypothesispytest -p no:benchmark
       -p no:postgresql -p no:django -p no:asyncio -p no:cov)
out=$(mktemp)
for _ in $(seq "$rounds"); do
    for tree in "$before" "$after"; do
        for suite in databases settings; do
            start=$(date +%s.%N)
            (cd "$suites" && PYTHONPATH="$tree" python -m pytest "${quiet[@]}" "$@" "boss/$suite" \
                >/dev/null) || echo "failed: $tree $suite" >&2
            echo "$tree $suite $(echo "$(date +%s.%N) - $start" | bc)" | tee -a "$out"
        done
    done
done
python3 - "$out" <<'PY'
import collections, statistics, sys
times = collections.defaultdict(list)
for line in open(sys.argv[1]):
    tree, suite, seconds = line.split()
    times[(suite, tree)].append(float(seconds))
for (suite, tree), values in sorted(times.items()):
    print(f"{suite:10} {tree}: median {statistics.median(values):.2f} s  "
          f"(min {min(values):.2f}, max {max(values):.2f})")
PY
rm -f "$out"
