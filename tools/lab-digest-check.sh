#!/usr/bin/env bash
# Builds the library's sources with tests/lab/digests/digests.c under gcc and
# clang (when installed) at -O0 and -O2, runs every build and checks that all
# of them print the same digests: the lab must not depend on the compiler.
#   tools/lab-digest-check.sh [SOURCE_DIR] [WORK_DIR]
set -u
src=${1:-$(cd "$(dirname "$0")/.." && pwd)}
work=${2:-$(mktemp -d)}
mkdir -p "$work"
case "$(uname -m)" in
x86_64 | amd64) extra=("$src/src/fiber/switch_x86_64.S") defs=() ;;
aarch64 | arm64) extra=("$src/src/fiber/switch_aarch64.S") defs=() ;;
*) extra=() defs=(-DASUP_FIBER_PORTABLE=1) ;;
esac
builds=()
for cc in gcc clang; do
	command -v "$cc" >/dev/null 2>&1 || { echo "lab-digest-check: $cc not installed, skipped"; continue; }
	for opt in -O0 -O2; do
		out="$work/digests-$cc$opt"
		(
			"$cc" $opt -std=c11 -D_POSIX_C_SOURCE=200809L "${defs[@]}" -w \
				-I"$src/include" -I"$src/src" -I"$src/tests/lab" \
				"$src"/src/*/*.c "${extra[@]}" "$src/tests/lab/digests/digests.c" \
				-lpthread -o "$out" && "$out" >"$out.txt"
		) &
		builds+=("$cc$opt")
	done
	wait
done
[ ${#builds[@]} -ge 2 ] || { echo "lab-digest-check: fewer than two builds"; exit 1; }
ref="$work/digests-${builds[0]}.txt"
[ -s "$ref" ] || { echo "lab-digest-check: build ${builds[0]} failed"; exit 1; }
status=0
for b in "${builds[@]}"; do
	if ! cmp -s "$ref" "$work/digests-$b.txt"; then
		echo "lab-digest-check: $b differs from ${builds[0]}:"
		diff "$ref" "$work/digests-$b.txt" | head -5
		status=1
	fi
done
[ $status -eq 0 ] && echo "lab-digest-check: ${builds[*]} print identical digests" && cat "$ref"
exit $status
