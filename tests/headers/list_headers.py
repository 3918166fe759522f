#!/usr/bin/env python3
"""Print every public header under the given include dir, one per line."""
import os
import sys

root = sys.argv[1]
found = []
for top in ('bank', 'bsm', 'kern', 'mach', 'mach_debug', 'pthread', 'servers'):
    for dirpath, _, files in os.walk(os.path.join(root, top)):
        for name in files:
            if name.endswith('.h'):
                found.append(os.path.relpath(os.path.join(dirpath, name), root))
print('\n'.join(sorted(found)))
