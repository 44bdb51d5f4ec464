#!/bin/sh
# test.sh: the README's second command, also run by CI (.ci/run). Installs the
# dependencies, then builds and runs the whole test suite three times:
#   build/        the normal build (RelWithDebInfo), all tests
#   build-asan/   AddressSanitizer + UndefinedBehaviorSanitizer, all tests but
#                 those labelled slow (the big whole-network parity cases)
#   build-fuzz/   clang + libFuzzer: the parser/checker fuzzed for 30 s, the
#                 emitted model's weights loader for 30 s
# Each ctest run prints its own summary; the script fails if any run fails.
set -u
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh || exit 1
jobs=$(nproc)
status=0
run() { # run DIR CMAKE_ARGS... ; builds DIR and runs its ctest
    dir=$1; shift
    echo "==== $dir: configure and build"
    mkdir -p "$dir"
    cmake -S . -B "$dir" "$@" >"$dir/configure.log" 2>&1 || { cat "$dir/configure.log"; status=1; return; }
    cmake --build "$dir" -j"$jobs" $BUILD_ARGS >"$dir/build.log" 2>&1 || { tail -50 "$dir/build.log"; status=1; return; }
    echo "==== $dir: ctest"
    (cd "$dir" && ctest --output-on-failure -j"$jobs" $CTEST_ARGS) || status=1
}
BUILD_ARGS="" CTEST_ARGS="" run build
BUILD_ARGS="" CTEST_ARGS="-LE slow" run build-asan -DSHARPC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
CC=clang BUILD_ARGS="--target fuzz_frontend fuzz_weights" CTEST_ARGS="-R fuzz" run build-fuzz -DSHARPC_FUZZ=ON -DSHARPC_FUZZ_SECONDS=30 -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ $status -eq 0 ]; then echo "test.sh: all test runs passed"; else echo "test.sh: FAILED"; fi
exit $status
