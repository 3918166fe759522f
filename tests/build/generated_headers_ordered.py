#!/usr/bin/env python3
"""Every header a compile step reads that the build itself generates (mig
stubs, Cap'n Proto headers) must be ordered before that compile step.

ninja only knows a compile's header dependencies after the compile has run
once (from its depfile). A generated header that a target uses without
declaring it (for instance through a dependency object without `sources`)
is found on the include path when the generator happened to run first, and
is missing when it did not: a build that passes on one machine and fails on
a clean one. This test reads ninja's recorded header dependencies
(`ninja -t deps`) and checks that each generated header is among the compile
edge's declared inputs (`ninja -t query`). Headers written at configure time
(configure_file) exist before any build step and are not checked.

Usage: generated_headers_ordered.py BUILD_DIR [NINJA]
"""
import subprocess
import sys


def ninja(build_dir, ninja_exe, *args):
    return subprocess.run([ninja_exe, '-C', build_dir, *args], check=True,
                          capture_output=True, text=True).stdout


def recorded_generated_headers(deps_text):
    """Maps each object to the headers it read that lie in the build tree."""
    result = {}
    current = None
    for line in deps_text.splitlines():
        if not line.strip():
            continue
        if not line.startswith(' '):
            current = line.split(':', 1)[0]
            result[current] = []
            continue
        path = line.strip()
        in_build_tree = not path.startswith('/') and not path.startswith('../')
        if current is not None and in_build_tree and path.endswith(('.h', '.hpp', '.hh')):
            result[current].append(path)
    return result


def query(build_dir, ninja_exe, targets):
    """Parses `ninja -t query` for many targets: target -> set of its inputs."""
    inputs = {}
    text = ninja(build_dir, ninja_exe, '-t', 'query', *targets)
    current, in_inputs = None, False
    for line in text.splitlines():
        if not line.startswith(' '):
            current, in_inputs = line.rstrip(':'), False
            inputs[current] = set()
        elif line.strip() == 'input:' or line.strip().startswith('input:'):
            in_inputs = True
        elif line.strip() == 'outputs:':
            in_inputs = False
        elif in_inputs and line.startswith('    '):
            inputs[current].add(line.strip().lstrip('|').strip())
    return inputs


def produced_by_build_step(build_dir, ninja_exe, headers):
    """The headers some build edge writes (the rest come from configure)."""
    targets = set(ninja(build_dir, ninja_exe, '-t', 'targets', 'all').split('\n'))
    outputs = {t.rsplit(':', 1)[0] for t in targets if t}
    return {h for h in headers if h in outputs}


def main():
    build_dir = sys.argv[1]
    ninja_exe = sys.argv[2] if len(sys.argv) > 2 else 'ninja'
    recorded = recorded_generated_headers(ninja(build_dir, ninja_exe, '-t', 'deps'))
    all_headers = {h for hs in recorded.values() for h in hs}
    generated = produced_by_build_step(build_dir, ninja_exe, all_headers)
    objects = sorted(o for o, hs in recorded.items() if any(h in generated for h in hs))
    checked, missing = 0, []
    for start in range(0, len(objects), 200):
        declared = query(build_dir, ninja_exe, objects[start:start + 200])
        for obj in objects[start:start + 200]:
            for header in recorded[obj]:
                if header not in generated:
                    continue
                checked += 1
                if header not in declared.get(obj, set()):
                    missing.append((obj, header))
    for obj, header in missing:
        print(f'{obj} reads the generated {header} without depending on it')
    print(f'{len(generated)} generated headers, {checked} uses by {len(objects)} '
          f'compile steps checked, {len(missing)} unordered')
    if not objects:
        print('no recorded header dependencies: build the project first')
        return 77  # meson's "skipped"
    return 1 if missing else 0


if __name__ == '__main__':
    sys.exit(main())
