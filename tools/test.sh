#!/usr/bin/env bash
# test.sh -- THE test command of wangge (CI runs it through .ci/run).
#
#   1. tools/deps.sh            install missing Debian packages
#   2. build/                   RelWithDebInfo build, then ctest
#   3. build-asan/              AddressSanitizer + UBSan build (WG_SANITIZE), then ctest
#   4. build-fuzz/              clang + libFuzzer (WG_FUZZ): every fuzz_* binary runs,
#                               one per CPU at a time, 30 s each, on a scratch copy of
#                               fixtures/fuzz/<format>/
#
# Prints a PASS/FAIL line per phase with its time, and exits non-zero if any
# phase failed. Nothing is written into the repository outside build*/.
#
# usage: bash tools/test.sh [--quick] [--no-fuzz] [--fuzz-seconds N]
#   --quick           normal build and its tests only
#   --no-fuzz         skip the libFuzzer phase
#   --fuzz-seconds N  run each fuzzer N seconds (default 30)
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
ROOT=$(pwd)

quick=0 fuzz=1 fuzz_seconds=30
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=1 ;;
        --no-fuzz) fuzz=0 ;;
        --fuzz-seconds) shift; fuzz_seconds=${1:?--fuzz-seconds needs a number} ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "test.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done

JOBS=$(nproc 2>/dev/null || echo 2)
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/wangge-test.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

# ---- bookkeeping ---------------------------------------------------------
SUMMARY=()            # one "PASS|FAIL  phase  seconds  note" line per phase
TESTS_PASSED=0 TESTS_FAILED=0
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
record() { # record STATUS PHASE START [NOTE]
    local line
    line=$(printf '%-4s  %-22s %7ss  %s' "$1" "$2" "$(elapsed "$3")" "${4:-}")
    SUMMARY+=("$line")
    echo "==> $line"
}
record_secs() { # record_secs STATUS PHASE SECONDS [NOTE]
    local line
    line=$(printf '%-4s  %-22s %7ss  %s' "$1" "$2" "$3" "${4:-}")
    SUMMARY+=("$line")
    echo "==> $line"
}
banner() { printf '\n==== %s ====\n' "$*"; }

# build DIR [cmake args...] -- configures and builds (only $TARGETS if set)
# with the log in DIR/build.log; shows compiler warnings, and the log's tail
# on failure.
build() {
    local dir=$1; shift
    local log="$dir/build.log"
    mkdir -p "$dir"
    if ! { cmake -S "$ROOT" -B "$dir" "$@" && cmake --build "$dir" -j "$JOBS" ${TARGETS:+--target $TARGETS}; } \
        >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "(full log: $log)"
        return 1
    fi
    local warnings
    warnings=$(grep -c 'warning:' "$log" || true)
    if [ "$warnings" -gt 0 ]; then
        echo "$warnings compiler warning(s):"
        grep -A3 'warning:' "$log" | head -n 40
    fi
    return 0
}

# run_ctest DIR PHASE -- ctest with a per-test log; adds to the test totals.
run_ctest() {
    local dir=$1 phase=$2 rc
    local out="$SCRATCH/ctest-$phase.log"
    (cd "$dir" && ctest --output-on-failure -j2 --timeout 300) 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    local line total failed
    line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$out" | tail -n 1)
    if [ -n "$line" ]; then
        failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
        total=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
        TESTS_PASSED=$((TESTS_PASSED + total - failed))
        TESTS_FAILED=$((TESTS_FAILED + failed))
        CTEST_NOTE="$((total - failed))/$total tests passed"
    else
        TESTS_FAILED=$((TESTS_FAILED + 1))
        CTEST_NOTE="ctest ran no test"
        rc=1
    fi
    return "$rc"
}

phase_failed() { TESTS_FAILED=$((TESTS_FAILED + 1)); }

# Sanitizer settings for the ASan and fuzz runs: any finding aborts (so a
# UBSan report cannot pass for a command's ordinary exit status 1), leaks
# included. tests/lsan.supp, if present, lists leaks inside third-party
# libraries that are not ours.
sanitizer_env() {
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1
    if [ -f "$ROOT/tests/lsan.supp" ]; then
        export LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp:print_suppressions=0"
    fi
}

# run_fuzzer NAME -- runs build-fuzz's NAME for $fuzz_seconds on a scratch
# copy of fixtures/fuzz/<format>/ (never the repo's corpus), from a scratch
# folder (libFuzzer writes crash-* files to the current directory). Leaves
# log, rc (exit status) and secs in $SCRATCH/fuzz/<format>/.
run_fuzzer() {
    local f=$1 format=${1#fuzz_} rc=0 t0 bin
    local work="$SCRATCH/fuzz/$format"
    local dict=()
    t0=$(now)
    mkdir -p "$work/corpus" "$work/artifacts"
    [ -d "fixtures/fuzz/$format" ] && cp -r "fixtures/fuzz/$format/." "$work/corpus/"
    [ -f "fixtures/fuzz/$format.dict" ] && dict=("-dict=$ROOT/fixtures/fuzz/$format.dict")
    bin=$(find build-fuzz -type f -name "$f" -perm -u+x | head -n 1)
    if [ -z "$bin" ]; then
        echo "$f was not built" >"$work/log"
        rc=1
    else
        (cd "$work" && sanitizer_env &&
            "$ROOT/$bin" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 \
                -print_final_stats=1 -artifact_prefix="$work/artifacts/" "${dict[@]}" \
                corpus >"$work/log" 2>&1) || rc=$?
    fi
    echo "$rc" >"$work/rc"
    elapsed "$t0" >"$work/secs"
}

# ---- 1. dependencies -----------------------------------------------------
banner "dependencies"
t=$(now)
if bash tools/deps.sh; then
    record PASS "deps" "$t"
else
    record FAIL "deps" "$t" "tools/deps.sh failed"
    phase_failed
    printf '\n%s\n' "${SUMMARY[@]}"
    echo "test.sh: 0 passed, 1 failed"
    exit 1
fi

# ---- 2. normal build -----------------------------------------------------
banner "build/ (RelWithDebInfo)"
t=$(now)
if build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=ON; then
    record PASS "build" "$t"
    banner "ctest build/"
    t=$(now)
    if run_ctest build normal; then record PASS "ctest" "$t" "$CTEST_NOTE"
    else record FAIL "ctest" "$t" "$CTEST_NOTE"; fi
else
    record FAIL "build" "$t" "see build/build.log"
    phase_failed
fi

# ---- 3. ASan + UBSan -----------------------------------------------------
if [ "$quick" = 0 ]; then
    banner "build-asan/ (AddressSanitizer + UndefinedBehaviorSanitizer)"
    t=$(now)
    if build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWG_SANITIZE=ON -DBUILD_TESTING=ON; then
        record PASS "build-asan" "$t"
        banner "ctest build-asan/"
        t=$(now)
        sanitizer_env
        if run_ctest build-asan asan; then record PASS "ctest-asan" "$t" "$CTEST_NOTE"
        else record FAIL "ctest-asan" "$t" "$CTEST_NOTE"; fi
        unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
    else
        record FAIL "build-asan" "$t" "see build-asan/build.log"
        phase_failed
    fi
fi

# ---- 4. libFuzzer --------------------------------------------------------
if [ "$quick" = 0 ] && [ "$fuzz" = 1 ]; then
    banner "build-fuzz/ (clang + libFuzzer, ${fuzz_seconds}s per target)"
    t=$(now)
    fuzzers=()
    for src in tests/fuzz/fuzz_*.c; do
        [ -e "$src" ] && fuzzers+=("$(basename "$src" .c)")
    done
    if ! command -v clang >/dev/null 2>&1; then
        record SKIP "fuzz" "$t" "clang not installed"
    elif [ ${#fuzzers[@]} -eq 0 ]; then
        record SKIP "fuzz" "$t" "no tests/fuzz/fuzz_*.c"
    # The library is built with -fsanitize=fuzzer-no-link as well as the
    # harness, so libFuzzer sees coverage inside the parsers it drives.
    elif CC=clang TARGETS="${fuzzers[*]}" build build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DWG_FUZZ=ON -DBUILD_TESTING=ON \
            "-DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer"; then
        record PASS "build-fuzz" "$t"
        # Up to $JOBS fuzzers at once; each writes its status and time beside its log.
        running=0
        for f in "${fuzzers[@]}"; do
            echo "-- $f: ${fuzz_seconds}s on a copy of fixtures/fuzz/${f#fuzz_}/"
            run_fuzzer "$f" &
            running=$((running + 1))
            if [ "$running" -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
        done
        wait
        for f in "${fuzzers[@]}"; do
            work="$SCRATCH/fuzz/${f#fuzz_}"
            secs=$(cat "$work/secs" 2>/dev/null || echo 0)
            if [ "$(cat "$work/rc" 2>/dev/null)" = 0 ]; then
                execs=$(grep -m1 'stat::number_of_executed_units' "$work/log" | awk '{print $2}')
                record_secs PASS "$f" "$secs" "${execs:-?} executions"
                TESTS_PASSED=$((TESTS_PASSED + 1))
            else
                echo "---- $f: last lines of its log ----"
                tail -n 60 "$work/log" 2>/dev/null
                mkdir -p build-fuzz/artifacts
                cp "$work"/artifacts/* build-fuzz/artifacts/ 2>/dev/null || true
                record_secs FAIL "$f" "$secs" "crash input(s), if any, kept in build-fuzz/artifacts/"
                phase_failed
            fi
        done
    else
        record FAIL "build-fuzz" "$t" "see build-fuzz/build.log"
        phase_failed
    fi
fi

# ---- summary -------------------------------------------------------------
banner "summary"
printf '%s\n' "${SUMMARY[@]}"
if printf '%s\n' "${SUMMARY[@]}" | grep -q '^FAIL'; then
    echo "test.sh: FAIL"
    echo "test.sh: $TESTS_PASSED passed, $TESTS_FAILED failed"
    exit 1
fi
echo "test.sh: PASS"
echo "test.sh: $TESTS_PASSED passed, $TESTS_FAILED failed"
