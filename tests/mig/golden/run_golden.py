#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Golden tests of mig.

  good/<case>.defs   mig writes <case>.h, <case>User.c, <case>Server.c,
                     <case>Server.h (-sheader), <case>Internal.h (-iheader),
                     <case>Defines.h (-dheader) and <case>.hpp (-cxx); each is
                     compared byte for byte with good/<case>.expected/<file>.
  diag/<case>.defs   mig's stderr and exit status are compared with
                     diag/<case>.expected (stderr, then a line "exit: N").

mig runs in the case's directory on a relative file name, so messages and
banners do not depend on where the tree lives.

  run_golden.py --mig PATH [--update] [--only CASE]       compare / regenerate
  run_golden.py --mig PATH --compile --cc CC --cxx CXX -I DIR ...
        compile the generated good outputs with -Wall -Wextra -Werror as C
        (gnu11) and as C++20 (the .hpp too).
"""

import argparse
import difflib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def outputs(case):
    return [
        ('-header', case + '.h'),
        ('-user', case + 'User.c'),
        ('-server', case + 'Server.c'),
        ('-sheader', case + 'Server.h'),
        ('-iheader', case + 'Internal.h'),
        ('-dheader', case + 'Defines.h'),
        ('-cxx', case + '.hpp'),
    ]


def cases(kind, only):
    d = os.path.join(HERE, kind)
    names = sorted(f[:-5] for f in os.listdir(d) if f.endswith('.defs'))
    return [n for n in names if not only or n in only]


def run_mig(mig, cwd, args):
    p = subprocess.run([mig] + args, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    return p.returncode, p.stdout, p.stderr


def diff(expected, got, name):
    return ''.join(difflib.unified_diff(
        expected.splitlines(True), got.splitlines(True),
        'expected/' + name, 'got/' + name))


def generate(mig, case, outdir):
    """Runs mig on good/<case>.defs, writing into outdir."""
    args = ['-I', '.']
    for flag, name in outputs(case):
        args += [flag, os.path.join(outdir, name)]
    args.append(case + '.defs')
    return run_mig(mig, os.path.join(HERE, 'good'), args)


def check_good(mig, case, update):
    failures = []
    expdir = os.path.join(HERE, 'good', case + '.expected')
    with tempfile.TemporaryDirectory() as tmp:
        rc, _, err = generate(mig, case, tmp)
        if rc != 0:
            return ['good/%s.defs: mig failed (exit %d):\n%s' % (case, rc, err)]
        if update:
            os.makedirs(expdir, exist_ok=True)
        for _, name in outputs(case):
            with open(os.path.join(tmp, name)) as f:
                got = f.read()
            path = os.path.join(expdir, name)
            if update:
                with open(path, 'w') as f:
                    f.write(got)
                continue
            if not os.path.exists(path):
                failures.append('%s: missing (run with --update)' % path)
                continue
            with open(path) as f:
                want = f.read()
            if want != got:
                failures.append('good/%s: output differs:\n%s'
                                % (name, diff(want, got, name)))
        if update and err:
            # Warnings of good cases are part of their contract too.
            with open(os.path.join(expdir, 'stderr'), 'w') as f:
                f.write(err)
        elif update and os.path.exists(os.path.join(expdir, 'stderr')):
            os.remove(os.path.join(expdir, 'stderr'))  # no warnings any more
        elif not update:
            path = os.path.join(expdir, 'stderr')
            want = open(path).read() if os.path.exists(path) else ''
            if want != err:
                failures.append('good/%s: stderr differs:\n%s'
                                % (case, diff(want, err, 'stderr')))
    return failures


def check_diag(mig, case, update):
    rc, _, err = run_mig(mig, os.path.join(HERE, 'diag'),
                         ['-I', '.', '-user', '/dev/null', '-server',
                          '/dev/null', '-header', '/dev/null',
                          case + '.defs'])
    got = err + 'exit: %d\n' % rc
    path = os.path.join(HERE, 'diag', case + '.expected')
    if update:
        with open(path, 'w') as f:
            f.write(got)
        return []
    if not os.path.exists(path):
        return ['%s: missing (run with --update)' % path]
    want = open(path).read()
    if want != got:
        return ['diag/%s: diagnostics differ:\n%s'
                % (case, diff(want, got, case + '.expected'))]
    return []


def compile_good(args, only):
    failures = []
    count = 0
    incs = []
    for d in args.include:
        incs += ['-I', d]
    for case in cases('good', only):
        with tempfile.TemporaryDirectory() as tmp:
            rc, _, err = generate(args.mig, case, tmp)
            if rc != 0:
                failures.append('%s: mig failed:\n%s' % (case, err))
                continue
            shutil.copy(os.path.join(HERE, 'good', 'golden_types.h'), tmp)
            tu = os.path.join(tmp, 'cxx_face.cpp')
            with open(tu, 'w') as f:
                f.write('#include "%s.hpp"\n' % case)
            jobs = []
            for src in (case + 'User.c', case + 'Server.c'):
                path = os.path.join(tmp, src)
                jobs.append(shlex.split(args.cc) + ['-std=gnu11', '-x', 'c', path])
                jobs.append(shlex.split(args.cxx) + ['-std=c++20', '-x', 'c++', path])
            jobs.append(shlex.split(args.cxx) + ['-std=c++20', tu])
            for cmd in jobs:
                cmd = cmd + ['-Wall', '-Wextra', '-Werror', '-c', '-o',
                             os.devnull, '-I', tmp] + incs
                p = subprocess.run(cmd, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
                count += 1
                if p.returncode != 0:
                    failures.append('%s: does not compile cleanly:\n  %s\n%s'
                                    % (case, ' '.join(cmd), p.stdout))
    print('compiled %d translation units of %d cases' %
          (count, len(cases('good', only))))
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--mig', required=True)
    ap.add_argument('--update', action='store_true')
    ap.add_argument('--only', action='append', default=[])
    ap.add_argument('--compile', action='store_true')
    ap.add_argument('--cc', default='cc')
    ap.add_argument('--cxx', default='c++')
    ap.add_argument('-I', dest='include', action='append', default=[])
    args = ap.parse_args()
    args.mig = os.path.abspath(args.mig)

    if args.compile:
        failures = compile_good(args, args.only)
    else:
        failures = []
        good = cases('good', args.only)
        diag = cases('diag', args.only)
        for c in good:
            failures += check_good(args.mig, c, args.update)
        for c in diag:
            failures += check_diag(args.mig, c, args.update)
        print('golden: %d output cases, %d diagnostic cases%s' %
              (len(good), len(diag), ' (updated)' if args.update else ''))
    for f in failures:
        print('FAIL ' + f)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
