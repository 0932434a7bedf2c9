#!/usr/bin/env bash
# Runs the project's benchmarks and the peers (../shared/peers) in one run,
# round-robin over RUNS repetitions so that drifts of the shared machine hit
# everyone alike, then prints every raw line, the medians and the ratios the
# project is judged on.
#
#   BUILD=build-release bench/compare.sh        everything, RUNS=3
#   W=W2 bench/compare.sh                       one workload (W1, W2, W3 or W5)
#   RUNS=5 QUICK=1 bench/compare.sh             quick sizes (smoke test)
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
BUILD=${BUILD:-$top/build-release}
case "$BUILD" in /*) ;; *) BUILD=$top/$BUILD ;; esac
RUNS=${RUNS:-3}
W=${W:-}
QUICK=${QUICK:-}
PEERS=${PEERS:-$top/../shared/peers}
PEERS_BUILD=${PEERS_BUILD:-/tmp/peers-build}
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT

want() { [ -z "$W" ] || [ "$W" = "$1" ]; }

T=$PEERS_BUILD/peer-tokio; G=$PEERS_BUILD/peer-go; BC=$PEERS_BUILD/peer-boostctx
if [ ! -x "$T" ] || [ ! -x "$G" ] || [ ! -x "$BC" ]; then
	if [ -x "$PEERS/run_all.sh" ]; then
		echo "building the peers into $PEERS_BUILD ..." >&2
		BUILD_ONLY=1 PEERS_BUILD=$PEERS_BUILD PEERS_RESULTS=$(mktemp -d) \
			"$PEERS/run_all.sh" >/dev/null 2>&1 || echo "peer build failed" >&2
	fi
fi

q=${QUICK:+--quick}
cmds=()
want W1 && cmds+=("$BUILD/bench_w1 $q" "$T W1 st" "$G W1 st" "$BC W1 pooled")
want W2 && cmds+=("$BUILD/bench_w2 $q" "$T W2 st" "$G W2 st" "$BC W2")
want W3 && cmds+=("$BUILD/bench_w3 $q" "$T W3 st" "$G W3 st")
want W5 && cmds+=("$BUILD/bench_w5 $q" "$T W5 st" "$G W5 st")

for ((r = 1; r <= RUNS; r++)); do
	for c in "${cmds[@]}"; do
		exe=${c%% *}
		if [ ! -x "$exe" ]; then
			echo "unavailable: $exe" >&2
			continue
		fi
		timeout 300 $c 2>/dev/null | grep -E '^W[0-9]+ ' | tee -a "$raw"
	done
done

if [ -n "$QUICK" ]; then
	echo "(QUICK: our sizes are reduced, the peers' are not: no ratios)"
	exit 0
fi
python3 - "$raw" <<'PY'
import sys, statistics, collections
vals = collections.defaultdict(list)
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) == 5:
        try:
            vals[tuple(p[:4])].append(float(p[4]))
        except ValueError:
            pass
med = {k: statistics.median(v) for k, v in vals.items()}
print("\n| workload | peer | flavour | metric | median | n |")
print("|---|---|---|---|---:|---:|")
for k in sorted(med):
    print("| %s | %s | %s | %s | %.1f | %d |" % (k + (med[k], len(vals[k]))))
def m(w, peer, fl, metric):
    return med.get((w, peer, fl, metric))
ratios = [
    ("W2 yield vs tokio st self-wake yield", ("W2","asup","st","ns_per_yield"), ("W2","tokio","st","ns_per_selfwake_yield"), 0.5),
    ("W2 raw switch vs boost fcontext", ("W2","asup","st","ns_per_switch"), ("W2","boostctx","st","fcontext_ns_per_switch"), 1.3),
    ("W1 spawn+join vs tokio st", ("W1","asup","st","ns_per_task"), ("W1","tokio","st","ns_per_task"), 0.8),
    ("W1 spawn+join vs go st", ("W1","asup","st","ns_per_task"), ("W1","go","st","ns_per_task"), None),
    ("W3 channel round trip vs tokio st", ("W3","asup","st","ns_per_roundtrip"), ("W3","tokio","st","ns_per_roundtrip"), 0.5),
    ("W3 channel round trip vs go st", ("W3","asup","st","ns_per_roundtrip"), ("W3","go","st","ns_per_roundtrip"), None),
    ("W5 tree cancel (recv) vs tokio st abort_recv", ("W5","asup","st","tree_recv_total_us"), ("W5","tokio","st","abort_recv_total_us"), 0.5),
    ("W5 tree cancel (sleep) vs tokio st abort_sleep", ("W5","asup","st","tree_sleep_total_us"), ("W5","tokio","st","abort_sleep_total_us"), None),
    ("W5 tree cancel (sleep) vs tokio st token_tree_sleep", ("W5","asup","st","tree_sleep_total_us"), ("W5","tokio","st","token_tree_sleep_total_us"), None),
    ("W5 tree cancel (recv) vs go st ctx_tree_recv", ("W5","asup","st","tree_recv_total_us"), ("W5","go","st","ctx_tree_recv_total_us"), None),
]
print("\n| ratio | asup | peer | ratio | target |")
print("|---|---:|---:|---:|---|")
for name, a, b, target in ratios:
    va, vb = med.get(a), med.get(b)
    if va is None or vb is None or vb == 0:
        continue
    r = va / vb
    t = "" if target is None else ("<= %.1f: %s" % (target, "met" if r <= target else "missed"))
    print("| %s | %.1f | %.1f | %.2f | %s |" % (name, va, vb, r, t))
PY
