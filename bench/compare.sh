#!/usr/bin/env bash
# Runs the project's benchmarks and the matching peers (../shared/peers) in one
# run, round-robin over RUNS repetitions so that drifts of the shared machine
# hit everyone alike, then prints every raw line, a table of medians and the
# ratios the project is judged on.
#
#   bench/compare.sh                          W1 W2 W3 W4 W5 LAB LABNET, RUNS=3, BUILD=./build
#   BUILD=build-release bench/compare.sh      another build directory
#   W=W2 bench/compare.sh                     one workload (W1, W2, W3, W4, W5, W6, LAB or LABNET)
#   RUNS=5 QUICK=1 bench/compare.sh           our sizes / 10 (smoke test, no ratios)
#
# Peers come from $PEERS_BUILD (default /tmp/peers-build). A missing peer is
# built the way ../shared/peers/run_all.sh does (BUILD_ONLY=1); if that fails
# the script says "peer X unavailable" and still runs ours.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in
/*) ;;
*) if [ -d "$BUILD" ]; then BUILD=$(cd "$BUILD" && pwd); else BUILD=$top/$BUILD; fi ;;
esac
RUNS=${RUNS:-3}
W=${W:-}
QUICK=${QUICK:-}
PEERS=${PEERS:-$(cd "$top/.." && pwd)/shared/peers}
PEERS_BUILD=${PEERS_BUILD:-/tmp/peers-build}
raw=$(mktemp)
tmpdirs=()
trap 'rm -f "$raw"; [ ${#tmpdirs[@]} -eq 0 ] || rm -rf "${tmpdirs[@]}"' EXIT

case "$W" in "" | W1 | W2 | W3 | W4 | W5 | W6 | LAB | LABNET) ;; *) echo "compare.sh: W must be W1, W2, W3, W4, W5, W6, LAB or LABNET" >&2; exit 2 ;; esac
want() { [ -z "$W" ] || [ "$W" = "$1" ]; }

T=$PEERS_BUILD/peer-tokio
G=$PEERS_BUILD/peer-go
BC=$PEERS_BUILD/peer-boostctx

# ---- the jobs: "<workload> <ours|peer name> <command...>"
q=${QUICK:+--quick}
jobs=()
want W1 && jobs+=("W1 ours $BUILD/bench_w1 $q" "W1 tokio $T W1 st" "W1 go $G W1 st" "W1 boostctx $BC W1 pooled")
want W2 && jobs+=("W2 ours $BUILD/bench_w2 $q" "W2 tokio $T W2 st" "W2 go $G W2 st" "W2 boostctx $BC W2")
want W3 && jobs+=("W3 ours $BUILD/bench_w3 $q" "W3 tokio $T W3 st" "W3 go $G W3 st")
# W4: ours with the default stack and with 16 KiB stacks (asup-16k), each in
# its own process since bytes_per_task reads the process's VmHWM.
U=$PEERS_BUILD/peer-libuv
want W4 && jobs+=("W4 ours $BUILD/bench_w4 $q" "W4 ours $BUILD/bench_w4 --stack 16 $q"
	"W4 tokio $T W4 st" "W4 go $G W4 st" "W4 libuv $U W4 st")
want W5 && jobs+=("W5 ours $BUILD/bench_w5 $q" "W5 tokio $T W5 st" "W5 go $G W5 st")
want LAB && jobs+=("LAB ours $BUILD/bench_lab $q")
want LABNET && jobs+=("LABNET ours $BUILD/bench_labnet $q")
# W6 entries name the label the client prints ("w6:<peer>:<flavour>"); the
# server gets "<port> <secs>" appended, as ../shared/peers/run_all.sh does.
want W6 && jobs+=("W6 ours:w6:asup:st $BUILD/bench_w6 auto" "W6 ours:w6:asup-epoll:st $BUILD/bench_w6 epoll"
	"W6 w6:c-epoll:st $PEERS_BUILD/epoll_echo" "W6 w6:tokio:st $T W6 st" "W6 w6:go:st $G W6 st"
	"W6 w6:libuv:st $U W6 st")
W6_SECS=${W6_SECS:-5}
W6_CONNS=${W6_CONNS:-100}
w6_port=${PORT_BASE:-19600}

# One W6 run: the server in the background, the common client against it,
# then the server's CPU time per request (utime + stime of the server
# process over the warm-up and measured round trips).
run_w6() { # label server-cmd...
	local label=$1 peer fl spid out rps
	shift
	IFS=: read -r _ peer fl <<<"$label"
	w6_port=$((w6_port + 1))
	timeout $((W6_SECS + 15)) "$@" "$w6_port" $((W6_SECS + 10)) 2>/dev/null &
	spid=$!
	sleep 0.3
	out=$(timeout $((W6_SECS + 10)) "$PEERS_BUILD/echo_client" "$w6_port" "$peer" "$fl" "$W6_CONNS" "$W6_SECS" 2>/dev/null)
	printf '%s\n' "$out" | grep -E '^W6 ' | tee -a "$raw"
	local child
	child=$(pgrep -P "$spid" | head -1)
	rps=$(echo "$out" | awk '$4 == "req_per_s" {print $5}')
	if [ -n "$child" ] && [ -r "/proc/$child/stat" ] && [ -n "$rps" ]; then
		awk -v rps="$rps" -v secs="$W6_SECS" -v hz="$(getconf CLK_TCK)" -v p="$peer" -v f="$fl" '{
			n = rps * (secs + 0.5); if (n <= 0) exit;
			printf "W6 %s %s server_cpu_us_per_req %.3f\n", p, f, ($14 + $15) / hz * 1e6 / n }' \
			"/proc/$child/stat" | tee -a "$raw"
	fi
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
}

# ---- peers: build the missing ones once, then drop what is still missing
need=()
for j in "${jobs[@]}"; do
	set -- $j
	case "$2" in ours*) ;; *) [ -x "$3" ] || need+=("$1") ;; esac
done
if [ ${#need[@]} -gt 0 ]; then
	if [ -x "$PEERS/run_all.sh" ]; then
		only=$(printf '%s\n' "${need[@]}" | sort -u | tr '\n' ' ')
		echo "building the missing peers into $PEERS_BUILD (ONLY=\"$only\") ..." >&2
		res=$(mktemp -d)
		tmpdirs+=("$res")
		BUILD_ONLY=1 ONLY="$only" PEERS_BUILD=$PEERS_BUILD PEERS_RESULTS=$res \
			"$PEERS/run_all.sh" >"$res/build.log" 2>&1 ||
			{ echo "peer build failed:" >&2; tail -5 "$res/build.log" >&2; }
	else
		echo "no peer runner at $PEERS/run_all.sh" >&2
	fi
fi
runnable=()
declare -A said
for j in "${jobs[@]}"; do
	set -- $j
	if [ -x "$3" ]; then
		runnable+=("$j")
	elif [ "${2%%:*}" = ours ]; then
		echo "ours unavailable: $3 (build it first)"
	elif [ -z "${said["$2.$1"]:-}" ]; then
		echo "peer $2 unavailable for $1 ($3 missing)"
		said["$2.$1"]=1
	fi
done

# ---- run, round-robin
for ((r = 1; r <= RUNS; r++)); do
	echo "# repetition $r/$RUNS" >&2
	for j in "${runnable[@]}"; do
		set -- $j
		if [ "$1" = W6 ]; then
			label=${2#ours:}
			shift 2
			run_w6 "$label" "$@"
			continue
		fi
		shift 2
		out=$(timeout 300 "$@" 2>/dev/null)
		rc=$?
		[ $rc -eq 0 ] || echo "FAILED (exit $rc): $*" >&2
		printf '%s\n' "$out" | grep -E '^(W[0-9]+|LAB|LABNET) ' | tee -a "$raw"
	done
done

if [ -n "$QUICK" ]; then
	echo "(QUICK: our sizes are reduced, the peers' are not: no ratios)"
	exit 0
fi

# ---- medians and ratios
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
def f(x):
    return "%.0f" % x if abs(x) >= 10000 else "%.1f" % x if abs(x) >= 100 else "%.2f" % x
print("\n| workload | peer | flavour | metric | median | min | max | n |")
print("|---|---|---|---|---:|---:|---:|---:|")
order = {"asup": 0, "asup-16k": 0}
for k in sorted(med, key=lambda k: (k[0], order.get(k[1], 1), k[1], k[3])):
    v = vals[k]
    print("| %s | %s | %s | %s | %s | %s | %s | %d |" % (k + (f(med[k]), f(min(v)), f(max(v)), len(v))))
A = lambda w, m: (w, "asup", "st", m)
P = lambda w, peer, m: (w, peer, "st", m)
ratios = [
    ("W2 yield / tokio st self-wake yield", A("W2", "ns_per_yield"), P("W2", "tokio", "ns_per_selfwake_yield"), 0.5),
    ("W2 yield / tokio st yield_now", A("W2", "ns_per_yield"), P("W2", "tokio", "ns_per_yield"), None),
    ("W2 yield / go st Gosched", A("W2", "ns_per_yield"), P("W2", "go", "ns_per_yield"), None),
    ("W2 raw switch / boost fcontext", A("W2", "ns_per_switch"), P("W2", "boostctx", "fcontext_ns_per_switch"), 1.3),
    ("W1 spawn+join / tokio st", A("W1", "ns_per_task"), P("W1", "tokio", "ns_per_task"), 0.8),
    ("W1 spawn+join / go st", A("W1", "ns_per_task"), P("W1", "go", "ns_per_task"), None),
    ("W1 spawn+join / boost fiber pooled", A("W1", "ns_per_task"), P("W1", "boostctx", "fiber_pooled16k_ns_per_task"), None),
    ("W1 peak RSS / tokio st", A("W1", "peak_rss_kb"), P("W1", "tokio", "peak_rss_kb"), None),
    ("W3 channel round trip / tokio st", A("W3", "ns_per_roundtrip"), P("W3", "tokio", "ns_per_roundtrip"), 0.5),
    ("W3 channel round trip / go st", A("W3", "ns_per_roundtrip"), P("W3", "go", "ns_per_roundtrip"), None),
    ("W4 runtime overhead / tokio st", A("W4", "wall_minus_1s_ms"), P("W4", "tokio", "wall_minus_1s_ms"), None),
    ("W4 runtime overhead / go st", A("W4", "wall_minus_1s_ms"), P("W4", "go", "wall_minus_1s_ms"), None),
    ("W4 bytes per task / tokio st", A("W4", "bytes_per_task"), P("W4", "tokio", "bytes_per_task"), None),
    ("W4 bytes per task / go st", A("W4", "bytes_per_task"), P("W4", "go", "bytes_per_task"), None),
    ("W4 asup-16k bytes per task / tokio st", P("W4", "asup-16k", "bytes_per_task"), P("W4", "tokio", "bytes_per_task"), None),
    ("W4 asup-16k bytes per task / go st", P("W4", "asup-16k", "bytes_per_task"), P("W4", "go", "bytes_per_task"), None),
    ("W4 peak RSS / tokio st", A("W4", "peak_rss_kb"), P("W4", "tokio", "peak_rss_kb"), None),
    ("W5 tree cancel (recv) / tokio st abort_recv", A("W5", "tree_recv_total_us"), P("W5", "tokio", "abort_recv_total_us"), 0.5),
    ("W5 tree cancel (sleep) / tokio st abort_sleep", A("W5", "tree_sleep_total_us"), P("W5", "tokio", "abort_sleep_total_us"), None),
    ("W5 tree cancel (sleep) / tokio st token_tree_sleep", A("W5", "tree_sleep_total_us"), P("W5", "tokio", "token_tree_sleep_total_us"), None),
    ("W6 req/s / c-epoll st (higher is better)", A("W6", "req_per_s"), P("W6", "c-epoll", "req_per_s"), -1.0),
    ("W6 asup-epoll req/s / c-epoll st (higher is better)", P("W6", "asup-epoll", "req_per_s"), P("W6", "c-epoll", "req_per_s"), -1.0),
    ("W6 req/s / tokio st (higher is better)", A("W6", "req_per_s"), P("W6", "tokio", "req_per_s"), None),
    ("W6 p99 / tokio st", A("W6", "p99_us"), P("W6", "tokio", "p99_us"), 1.0),
    ("W6 asup-epoll p99 / tokio st", P("W6", "asup-epoll", "p99_us"), P("W6", "tokio", "p99_us"), None),
    ("W6 cpu/req / c-epoll st", A("W6", "server_cpu_us_per_req"), P("W6", "c-epoll", "server_cpu_us_per_req"), None),
    ("W5 tree cancel (recv) / go st ctx_tree_recv", A("W5", "tree_recv_total_us"), P("W5", "go", "ctx_tree_recv_total_us"), None),
]
rows = []
lab = med.get(A("LAB", "steps_per_s"))
if lab is not None:
    rows.append("| LAB lab steps per second (1,000 tasks, tracing on) | %s | - | - | >= 5000000: %s |" % (
        f(lab), "met" if lab >= 5e6 else "MISSED"))
labnet = med.get(A("LABNET", "steps_per_s"))
if labnet is not None:
    rows.append("| LABNET lab steps per second (100 clients over the simulated network, tracing on) | %s | - | - | >= 2000000: %s |" % (
        f(labnet), "met" if labnet >= 2e6 else "MISSED"))
for name, a, b, target in ratios:
    va, vb = med.get(a), med.get(b)
    if va is None or vb is None or vb == 0:
        if target is not None and (a in med or b in med):
            rows.append("| %s | %s | %s | - | %s %.1f: no data |" % (
                name, f(va) if va is not None else "-", f(vb) if vb is not None else "-",
                ">=" if target < 0 else "<=", abs(target)))
        continue
    r = va / vb
    # A negative target is a floor (higher is better): -1.0 means >= 1.0.
    if target is None:
        t = ""
    elif target < 0:
        t = ">= %.1f: %s" % (-target, "met" if r >= -target else "MISSED")
    else:
        t = "<= %.1f: %s" % (target, "met" if r <= target else "MISSED")
    rows.append("| %s | %s | %s | %.3f | %s |" % (name, f(va), f(vb), r, t))
if rows:
    print("\n| ratio (medians) | asup | peer | ratio | target |")
    print("|---|---:|---:|---:|---|")
    print("\n".join(rows))
PY
