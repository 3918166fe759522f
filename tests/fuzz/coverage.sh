#!/usr/bin/env bash
# tests/fuzz/coverage.sh — how much of each part of machd (and mig) the fuzz
# corpora reach: builds the targets again with clang's source-based coverage
# (no sanitizers, no fuzzer instrumentation), replays every input of each target's corpora once
# (libFuzzer -runs=0), and prints line and function coverage per component.
#
# usage: tests/fuzz/coverage.sh [--build-root DIR] [--source-root DIR] [--jobs N]
#   The corpora replayed: tests/fuzz/corpus/<target> (the seeds) and
#   <build-root>/fuzz-build/corpus/<target> (what tests/fuzz/run.sh found).
#   A per-file report is left in <build-root>/fuzz-cov-build/report.txt.
set -euo pipefail

jobs=2
src=$(cd "$(dirname "$0")/../.." && pwd)
build_root=$src/build
while [ $# -gt 0 ]; do
  case $1 in
    --build-root) build_root=$2; shift 2 ;;
    --source-root) src=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "coverage.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
targets=(request kernel_server fast_lanes copyin mig)
for tool in clang clang++ llvm-profdata llvm-cov; do
  command -v "$tool" >/dev/null || { echo "coverage.sh: $tool not found (bash packaging/install-deps.sh)" >&2; exit 1; }
done

dir=$build_root/fuzz-cov-build
. "$src/tests/common/build_dir.sh"
cov='-fprofile-instr-generate -fcoverage-mapping'
setup_build_dir "$dir" "$src" clang clang++ \
  -Dfuzz=true -Dhardening_tests=false -Dbenchmarks=false -Doptimization=1 \
  -Dc_args="$cov" -Dcpp_args="$cov" \
  -Dc_link_args="$cov" -Dcpp_link_args="$cov"
# (mig, instrumented too, runs during the build: its profile is not wanted.)
LLVM_PROFILE_FILE=/dev/null ninja -C "$dir" -j"$jobs" $(printf 'tests/fuzz/fuzz_%s ' "${targets[@]}") >"$dir.build.log" 2>&1 ||
  { tail -50 "$dir.build.log" >&2; echo "coverage.sh: building the fuzz targets failed" >&2; exit 1; }

profiles=$dir/profiles
rm -rf "$profiles" && mkdir -p "$profiles"
objects=()
for t in "${targets[@]}"; do
  corpora=()
  for c in "$src/tests/fuzz/corpus/$t" "$build_root/fuzz-build/corpus/$t"; do
    [ -d "$c" ] && corpora+=("$c")
  done
  inputs=$(find "${corpora[@]}" -type f | wc -l)
  # %p: the helper processes the daemon targets fork write their own.
  LLVM_PROFILE_FILE="$profiles/$t-%p.profraw" "$dir/tests/fuzz/fuzz_$t" -runs=0 "${corpora[@]}" \
    >"$profiles/$t.log" 2>&1 || { tail -20 "$profiles/$t.log" >&2; echo "coverage.sh: replaying $t failed" >&2; exit 1; }
  echo "coverage: $t: $inputs inputs replayed"
  objects+=(-object "$dir/tests/fuzz/fuzz_$t")
done
llvm-profdata merge -sparse "$profiles"/*.profraw -o "$dir/merged.profdata"

# Per file, then summed per component (a component is a list of path
# patterns, relative to the source root).
llvm-cov report "${objects[@]:1}" -instr-profile="$dir/merged.profdata" \
  -ignore-filename-regex='^/usr/|/tests/|fuzz-cov-build/[a-z]|Server\.c$|User\.c$' >"$dir/report.txt"
python3 - "$dir/report.txt" "$src" <<'EOF'
import os, re, sys
report, src = sys.argv[1], sys.argv[2].rstrip('/') + '/'
components = [
    ('request path (session, decoder, traps)', r'machd/daemon/(session|msg_codec|traps|message_rights|reply_arrays|ool_payload)\.cc'),
    ('fast lanes', r'machd/(daemon/fast_lanes|ipc/(lane|credit))\.cc'),
    ('notifications', r'machd/ipc/(notify|mach_port_notify)\.cc'),
    ('task-port server', r'machd/kern/(task|task_server|task_info)\.cc'),
    ('IPC core (machd/ipc)', r'machd/ipc/'),
    ('kernel objects (machd/kern)', r'machd/kern/'),
    ('VM (machd/vm)', r'machd/vm/'),
    ('daemon (machd/daemon)', r'machd/daemon/'),
    ('bootstrap', r'machd/bootstrap/'),
    ('mig', r'mig/'),
]
rows = []
for line in open(report):
    f = line.split()
    # Filename Regions Missed Cover Functions Missed Executed Lines Missed Cover ...
    if len(f) < 10 or not f[1].isdigit():
        continue
    name = os.path.normpath(f[0])
    name = name[len(src):] if name.startswith(src) else name
    rows.append((name, int(f[4]), int(f[5]), int(f[7]), int(f[8])))
print(f"{'component':44} {'lines':>15} {'functions':>15}")
for label, pattern in components:
    sel = [r for r in rows if re.search(pattern, r[0])]
    if not sel:
        print(f"{label:44} {'(no file)':>15}")
        continue
    fn, fm, ln, lm = (sum(r[i] for r in sel) for i in (1, 2, 3, 4))
    print(f"{label:44} {100.0 * (ln - lm) / max(ln, 1):6.1f}% of {ln:6d} {100.0 * (fn - fm) / max(fn, 1):6.1f}% of {fn:5d}")
EOF
echo "coverage: per file: $dir/report.txt"
