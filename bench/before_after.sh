#!/usr/bin/env bash
# pytest-boss alone, two checkouts side by side: the bench's fresh-database (100 tests) and
# settings (50 tests) suites, each checkout's code first on PYTHONPATH, with this machine's
# Python. Each round runs before, after, after, before (so that neither profits from its
# place); prints each wall time and pytest's own, then the medians.
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
run() {
    local tree=$1 suite=$2 start inner
    start=$(date +%s.%N)
    inner=$(cd "$suites" && PYTHONPATH="$tree" python -m pytest "${quiet[@]}" "${@:3}" \
        "boss/$suite" | grep -o "in [0-9.]*s" | tr -d 'ins ') || echo "failed: $tree $suite" >&2
    echo "$tree $suite $(echo "$(date +%s.%N) - $start" | bc) ${inner:-nan}" | tee -a "$out"
}
for _ in $(seq "$rounds"); do
    for suite in databases settings; do
        for tree in "$before" "$after" "$after" "$before"; do
            run "$tree" "$suite" "$@"
        done
    done
done
python3 - "$out" <<'PY'
import collections, statistics, sys
wall, inner = collections.defaultdict(list), collections.defaultdict(list)
for line in open(sys.argv[1]):
    tree, suite, seconds, own = line.split()
    wall[(suite, tree)].append(float(seconds))
    inner[(suite, tree)].append(float(own))
for key, values in sorted(wall.items()):
    suite, tree = key
    print(f"{suite:10} {tree}: wall median {statistics.median(values):.2f} s "
          f"({min(values):.2f}-{max(values):.2f}), pytest's own median "
          f"{statistics.median(inner[key]):.2f} s, n={len(values)}")
PY
rm -f "$out"
