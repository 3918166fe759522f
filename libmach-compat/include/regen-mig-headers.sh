#!/bin/sh
# Regenerate the MIG user headers installed as <mach/task.h>, <mach/vm_map.h>,
# ... from mig/defs, with the mig of this tree, as Apple's SDK ships the
# output of its MIG.  SPDX-License-Identifier: MIT
#
#   regen-mig-headers.sh MIG            rewrite libmach-compat/include/mach/*.h
#   regen-mig-headers.sh --check MIG    regenerate into a temporary directory;
#                                       exit 1 with a diff if a committed
#                                       header is stale (the mig-headers-current
#                                       test)
set -eu

check=0
if [ "${1:-}" = --check ]; then check=1; shift; fi
[ $# -eq 1 ] || { echo "usage: $0 [--check] MIG" >&2; exit 2; }
mig=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
include=$(cd "$(dirname "$0")" && pwd)
defs=$include/../../mig/defs

# One header per interface, named after its .defs, or DEFS:HEADER where
# they differ (GNU Mach's mach.defs holds only the memory-object calls a
# pager makes on a control port here: <mach/memory_object_control.h>).
# mach_exc.h declares the optional routines too.
headers="task thread_act vm_map mach_vm mach_host host_priv mach_port
    clock clock_priv clock_reply processor processor_set lock_set
    mach_voucher memory_entry exc mach_exc mach:memory_object_control
    task_emulation"
mig_defines="-DMACH_EXC_SERVER_TASKIDTOKEN -DMACH_EXC_SERVER_BACKTRACE
    -DMACH_EXC_SERVER_TASKIDTOKEN_STATE"

if [ $check = 1 ]; then
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
else
    out=$include/mach
fi

# Relative paths, so that the headers name mach/<sub>.defs wherever the
# tree is.
cd "$defs"
for entry in $headers; do
    src=${entry%%:*}
    h=${entry#*:}
    # shellcheck disable=SC2086
    "$mig" -q -I. $mig_defines -header "$out/$h.h" -user /dev/null \
        -server /dev/null "mach/$src.defs"
done

if [ $check = 1 ]; then
    stale=0
    for entry in $headers; do
        h=${entry#*:}
        if ! diff -u "$include/mach/$h.h" "$out/$h.h"; then stale=1; fi
    done
    if [ $stale = 1 ]; then
        echo "stale: run libmach-compat/include/regen-mig-headers.sh" \
            "build/mig/mig and commit the result" >&2
        exit 1
    fi
fi
