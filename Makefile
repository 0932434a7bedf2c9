# The README's commands. Everything real is in CMake; this file picks a build
# directory per configuration and checks dependencies first.
#
#   make run                        build everything, run examples/tour
#   make test [V=1]                 build and run the whole suite
#   make test SAN=address,undefined sanitizer build and suite (or SAN=thread)
#   make test VALGRIND=1            the suite under valgrind memcheck
#   make test PORTABLE=1            the suite on the portable (ucontext) fibers
#   make bench [W=W1|W2|W3|W4|W5|W6|LAB|LABNET]  benchmarks against the peers, one run
#   make install [PREFIX=/usr/local]

SAN ?=
VALGRIND ?=
PORTABLE ?=
V ?=
W ?=
JOBS ?= 2
PREFIX ?= /usr/local
comma := ,

BUILD := build
CMAKE_ARGS := -DCMAKE_BUILD_TYPE=RelWithDebInfo
ifneq ($(SAN),)
BUILD := build-san-$(subst $(comma),-,$(SAN))
CMAKE_ARGS += -DASUP_SANITIZE=$(SAN) -DASUP_BUILD_BENCH=OFF
endif
ifneq ($(PORTABLE),)
BUILD := build-portable
CMAKE_ARGS += -DASUP_FIBER_PORTABLE=ON -DASUP_BUILD_BENCH=OFF
endif
ifneq ($(VALGRIND),)
BUILD := build-valgrind
CMAKE_ARGS += -DASUP_VALGRIND=ON -DASUP_BUILD_BENCH=OFF
endif
GEN := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

CTEST_FLAGS := --output-on-failure

.PHONY: all deps build run test bench install clean

all: build

deps:
	@tools/deps.sh build
ifneq ($(VALGRIND),)
	@tools/deps.sh valgrind
endif

$(BUILD)/CMakeCache.txt:
	@tools/deps.sh build
	cmake -S . -B $(BUILD) $(GEN) $(CMAKE_ARGS) -DCMAKE_INSTALL_PREFIX=$(PREFIX)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/tour

# Quiet by default (the summary and any skipped case, or everything when
# something failed); V=1 lists every test case with its result.
test: build
	@tools/deps.sh test
ifeq ($(V),)
	@cd $(BUILD) && ctest -j $(JOBS) $(CTEST_FLAGS) > ctest.log 2>&1; rc=$$?; \
	if [ $$rc -ne 0 ]; then cat ctest.log; else grep -E "tests passed|Total Test time|did not run|\(Skipped\)" ctest.log; fi; \
	exit $$rc
else
	cd $(BUILD) && ctest -j $(JOBS) $(CTEST_FLAGS)
endif

bench: deps
	@tools/deps.sh bench
	cmake -S . -B build-release $(GEN) -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF
	cmake --build build-release -j $(JOBS)
	BUILD=build-release W=$(W) bench/compare.sh

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf build build-san-* build-valgrind build-release
