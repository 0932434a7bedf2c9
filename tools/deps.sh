#!/usr/bin/env bash
# Checks (and, as root on Debian, installs) what a make target needs.
# Usage: tools/deps.sh build|test|valgrind|bench
# Exits non-zero with the exact packages to install when it cannot install them.
set -u
need_cmds=()
need_pkgs=()

want() { # want CMD PACKAGE
	command -v "$1" >/dev/null 2>&1 || { need_cmds+=("$1"); need_pkgs+=("$2"); }
}
want_file() { # want_file PATH PACKAGE
	[ -e "$1" ] || { need_cmds+=("$1"); need_pkgs+=("$2"); }
}

case "${1:-build}" in
build)
	want cc gcc
	want cmake cmake
	want make make
	# io_uring backend (optional: without it the build has epoll only).
	if [ ! -e /usr/include/liburing.h ]; then
		if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
			echo "installing: liburing-dev"
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq liburing-dev >/dev/null 2>&1 ||
				{ apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq liburing-dev >/dev/null; } ||
				echo "tools/deps.sh: liburing-dev could not be installed; I/O uses epoll only" >&2
		else
			echo "tools/deps.sh: liburing-dev not installed; I/O uses epoll only (apt-get install liburing-dev)" >&2
		fi
	fi
	;;
test)
	# Wanted: the install test builds a program through pkg-config (it
	# skips that half, saying so, without it).
	if ! command -v pkg-config >/dev/null 2>&1; then
		if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
			echo "installing: pkg-config"
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pkg-config >/dev/null 2>&1 ||
				{ apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pkg-config >/dev/null; } ||
				echo "tools/deps.sh: pkg-config could not be installed; the install test checks find_package only" >&2
		else
			echo "tools/deps.sh: pkg-config not installed; the install test checks find_package only (apt-get install pkg-config)" >&2
		fi
	fi
	# Optional: the examples test drives http_hello with curl (skipped without).
	if ! command -v curl >/dev/null 2>&1; then
		if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
			echo "installing: curl"
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null 2>&1 ||
				echo "tools/deps.sh: curl could not be installed; the http_hello test is skipped" >&2
		else
			echo "tools/deps.sh: curl not installed; the http_hello test is skipped (apt-get install curl)" >&2
		fi
	fi
	# Optional: the examples test loads http_hello with a short wrk run
	# (skipped without).
	if ! command -v wrk >/dev/null 2>&1; then
		if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
			echo "installing: wrk"
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1 ||
				{ apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } ||
				echo "tools/deps.sh: wrk could not be installed; the wrk run of http_hello is skipped" >&2
		else
			echo "tools/deps.sh: wrk not installed; the wrk run of http_hello is skipped (apt-get install wrk)" >&2
		fi
	fi
	# Optional: the lab's cross-compiler digest test also builds with clang.
	command -v clang >/dev/null 2>&1 && exit 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "installing: clang"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang >/dev/null; } ||
			echo "tools/deps.sh: clang could not be installed; the digest test compares gcc builds only" >&2
	else
		echo "tools/deps.sh: clang not installed; the digest test compares gcc builds only (apt-get install clang)" >&2
	fi
	exit 0
	;;
valgrind)
	want valgrind valgrind
	want_file /usr/include/valgrind/valgrind.h valgrind
	;;
bench)
	want python3 python3
	want go golang-go
	want_file /usr/share/cargo/registry librust-tokio-dev
	want_file /usr/include/boost/context/fiber.hpp libboost-context-dev
	want_file /usr/include/uv.h libuv1-dev
	want g++ g++
	;;
*)
	echo "tools/deps.sh: unknown target '$1'" >&2
	exit 2
	;;
esac

[ ${#need_pkgs[@]} -eq 0 ] && exit 0
pkgs=$(printf '%s\n' "${need_pkgs[@]}" | sort -u | tr '\n' ' ')
if [ "$1" = bench ]; then
	pkgs="$pkgs librust-tokio-macros-dev librust-tokio-util-dev"
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "installing: $pkgs"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null && apt-get install -y -qq $pkgs >/dev/null || {
		echo "apt-get could not install: $pkgs" >&2
		exit 1
	}
	exit 0
fi
echo "missing: ${need_cmds[*]}" >&2
echo "install them with: sudo apt-get install -y $pkgs" >&2
exit 1
