#!/usr/bin/env bash
# tests/fuzz/run.sh — builds the libFuzzer targets (clang, ASan+UBSan) in a
# build directory of their own and runs each for a bounded time from its
# seed corpus. Fails on any crash, leak, sanitizer report or timeout, and
# prints each target's executions and coverage.
#
# usage: tests/fuzz/run.sh [--seconds N] [--build-root DIR] [--source-root DIR]
#                          [--jobs N] [--write-seeds] [target...]
#   --seconds N     time per target (default 600)
#   --build-root    the build directory the clang one goes in (default build/)
#   --jobs N        ninja jobs (default 2)
#   --write-seeds   regenerate tests/fuzz/corpus/ from the targets' seed
#                   writers and the mig golden .defs, then exit
#   target          request kernel_server fast_lanes copyin mig (default all)
set -euo pipefail

seconds=600
jobs=2
write_seeds=0
src=$(cd "$(dirname "$0")/../.." && pwd)
build_root=$src/build
targets=()
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --build-root) build_root=$2; shift 2 ;;
    --source-root) src=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --write-seeds) write_seeds=1; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(request kernel_server fast_lanes copyin mig)

for tool in clang clang++; do
  if ! command -v "$tool" >/dev/null; then
    echo "run.sh: $tool not found: the fuzz targets need clang (bash packaging/install-deps.sh installs it)" >&2
    exit 1
  fi
done

dir=$build_root/fuzz-build
start=$(date +%s)
# Instrumented for libFuzzer everywhere (fuzzer-no-link); only the fuzz
# executables link libFuzzer's main. -O1: a quicker build.
. "$src/tests/common/build_dir.sh"
setup_build_dir "$dir" "$src" clang clang++ \
  -Dfuzz=true -Dhardening_tests=false -Dbenchmarks=false \
  -Db_sanitize=address,undefined -Db_lundef=false -Doptimization=1 \
  -Dc_args='-fsanitize=fuzzer-no-link -fno-sanitize-recover=all' \
  -Dcpp_args='-fsanitize=fuzzer-no-link -fno-sanitize-recover=all'
# mig runs during the build; a leak in it is a fuzz_mig matter, not a build failure.
ASAN_OPTIONS=detect_leaks=0 ninja -C "$dir" -j"$jobs" $(printf 'tests/fuzz/fuzz_%s ' "${targets[@]}") >"$dir.build.log" 2>&1 ||
  { tail -50 "$dir.build.log" >&2; echo "run.sh: building the fuzz targets failed" >&2; exit 1; }
echo "fuzz: built ${#targets[@]} targets in $(( $(date +%s) - start )) s ($dir)"

export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

if [ "$write_seeds" -eq 1 ]; then
  for t in "${targets[@]}"; do
    out=$src/tests/fuzz/corpus/$t
    rm -rf "$out" && mkdir -p "$out"
    if [ "$t" = mig ]; then
      # The golden .defs as cpp hands them to mig (line markers and all).
      # Relative paths: no machine's directory ends up in the seeds.
      for defs in "$src"/tests/mig/golden/good/*.defs; do
        (cd "$src" && cc -E -x c -Itests/mig/golden/good "tests/mig/golden/good/$(basename "$defs")") \
          >"$out/$(basename "$defs" .defs)"
      done
    else
      MACHD_FUZZ_WRITE_SEEDS=$out "$dir/tests/fuzz/fuzz_$t" >/dev/null
    fi
    echo "fuzz: $t: $(ls "$out" | wc -l) seeds in $out"
  done
  exit 0
fi

failed=0
for t in "${targets[@]}"; do
  work=$dir/corpus/$t
  artifacts=$dir/artifacts/$t
  mkdir -p "$work" "$artifacts"
  log=$dir/fuzz_$t.log
  set +e
  # The working corpus (new inputs) stays in the build directory; the seeds,
  # and the inputs that once found a bug (regressions/), are read from the
  # source tree.
  inputs=("$src/tests/fuzz/corpus/$t")
  [ -d "$src/tests/fuzz/regressions/$t" ] && inputs+=("$src/tests/fuzz/regressions/$t")
  "$dir/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=20 \
    -rss_limit_mb=4096 -max_len=16384 -artifact_prefix="$artifacts/" \
    "$work" "${inputs[@]}" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [ $rc -ne 0 ]; then
    failed=1
    echo "fuzz: $t FAILED (exit $rc): ${execs:-?} executions, ${cov:-no coverage line}; log $log, inputs in $artifacts" >&2
    grep -E -m1 -A40 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY|machd kept|leaked|not a MACH_SEND' "$log" >&2 || tail -40 "$log" >&2
  else
    echo "fuzz: $t: ${execs:-?} executions (${rate:-?}/s) in ${seconds} s, ${cov:-no coverage line}, corpus $(ls "$work" | wc -l) new inputs"
  fi
done
echo "fuzz: total $(( $(date +%s) - start )) s"
exit $failed
