#!/usr/bin/env bash
# tests/sanitizers/run.sh — builds the whole project again with gcc's
# AddressSanitizer and UndefinedBehaviorSanitizer, in a build directory of
# its own, and runs its whole test suite there. Any ASan, LeakSanitizer or
# UBSan report fails the test it happens in, and so this one.
#
# usage: tests/sanitizers/run.sh [--build-root DIR] [--source-root DIR] [--jobs N]
#                                [-- extra meson test arguments]
#   --build-root   the build directory the sanitizer one goes in (default build/)
#   --jobs N       ninja jobs and parallel tests (default 2)
set -euo pipefail

jobs=2
src=$(cd "$(dirname "$0")/../.." && pwd)
build_root=$src/build
extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --build-root) build_root=$2; shift 2 ;;
    --source-root) src=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

dir=$build_root/sanitize-build
start=$(date +%s)
# -fno-sanitize-recover: a UBSan report ends the program (a failing test),
# whatever UBSAN_OPTIONS the test itself sets. b_lundef=false: shared
# libraries (libmach-compat) leave the sanitizer runtime to the program.
# -O1, as ASan's documentation advises: a quicker build than the default
# -O2 (the build is most of this test's time), and clearer stacks.
. "$src/tests/common/build_dir.sh"
setup_build_dir "$dir" "$src" gcc g++ \
  -Db_sanitize=address,undefined -Db_lundef=false -Doptimization=1 \
  -Dbenchmarks=false -Dhardening_tests=false \
  -Dc_args=-fno-sanitize-recover=undefined -Dcpp_args=-fno-sanitize-recover=undefined

# verify_asan_link_order=0: mach-run preloads libmach-compat (which links
# libasan) into programs that were not built with ASan. handle_segv=0 (and
# SIGBUS, SIGFPE): a fault in a Mach task is an exception message
# (libmach-compat's handler, the exception examples and tests make faults on
# purpose); ASan's own handler would end the program first. A stray fault
# still kills its program and fails its test. detect_leaks stays on: a leak
# is a failure like any other report.
export ASAN_OPTIONS=verify_asan_link_order=0:halt_on_error=1:abort_on_error=1:detect_leaks=1:handle_segv=0:handle_sigbus=0:handle_sigfpe=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$src/tests/sanitizers/lsan.supp:print_suppressions=0

# The build runs mig (instrumented) to generate sources.
ninja -C "$dir" -j"$jobs" >"$dir.build.log" 2>&1 ||
  { tail -60 "$dir.build.log" >&2; echo "run.sh: the sanitizer build failed" >&2; exit 1; }
built=$(date +%s)
echo "sanitizers: built in $(( built - start )) s ($dir)"

# Tests that cannot run under ASan are listed in excluded.txt with the
# reason; everything else runs.
excluded=()
while read -r name reason; do
  [ -n "$name" ] && [ "${name#\#}" = "$name" ] || continue
  echo "sanitizers: not run: $name ($reason)"
  excluded+=("$name")
done <"$src/tests/sanitizers/excluded.txt"
mapfile -t all < <(meson test -C "$dir" --no-rebuild --list 2>/dev/null | grep " / " | sed 's/^[^ ]* \/ //')
run=()
for t in "${all[@]}"; do
  skip=0
  for e in "${excluded[@]}"; do [ "$t" = "$e" ] && skip=1; done
  [ $skip -eq 1 ] || run+=("$t")
done

set +e
meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes "$jobs" --timeout-multiplier 3 \
  "${extra[@]}" "${run[@]}"
rc=$?
set -e
echo "sanitizers: ${#run[@]} tests in $(( $(date +%s) - built )) s (build $(( built - start )) s)"
exit $rc
