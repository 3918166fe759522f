#!/bin/sh
# Compile-time benchmark of mig: every .defs under a directory (the
# project's mig/defs by default), each compiled into all C outputs and the
# C++ face, in one run. Prints the wall time in seconds.
#
#   tests/mig/bench_compile.sh [MIG] [DEFS_DIR] [ROUNDS]
set -eu
mig=${1:-build/mig/mig}
defs=${2:-mig/defs}
rounds=${3:-1}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
files=$(grep -l '^[[:space:]]*subsystem' $(find "$defs" -name '*.defs') | sort)
n=$(echo "$files" | wc -l)
start=$(date +%s.%N)
i=0
while [ "$i" -lt "$rounds" ]; do
  for f in $files; do
    b=$(basename "$f" .defs)
    "$mig" -q -I "$defs" -header "$out/$b.h" -user "$out/${b}User.c" \
      -server "$out/${b}Server.c" -sheader "$out/${b}Server.h" \
      -cxx "$out/$b.hpp" "$f"
  done
  i=$((i + 1))
done
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v n="$n" -v r="$rounds" \
  'BEGIN { printf "mig: %d .defs files x %d round(s) in %.3f s (%.1f ms per file)\n", n, r, e - s, (e - s) * 1000 / (n * r) }'
