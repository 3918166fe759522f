#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check the message layouts our mig produces for our .defs against the
layouts of Apple's MIG (mig-layouts.json beside this script).

For every subsystem of the JSON file this script
  1. runs mig on mig/defs/.../<subsystem>.defs (-header, -user, -server,
     -sheader),
  2. compiles the generated user and server .c files with -Wall -Wextra
     (errors fail the test, warnings are reported),
  3. builds and runs a small C program that prints sizeof() of every
     __Request__/__Reply__ struct and offsetof() of every field, and
     compares them with the JSON,
  4. reads msgh_id, msgh_bits and the mach_msg options out of each user
     stub, and checks the reply id,
  5. writes and compiles a file of _Static_assert()s for the same facts.

It prints one line per mismatch and a summary line
    layout: 396 structs checked, N failed
and exits with status 1 if anything failed.
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys

# Where the .defs of each subsystem live, relative to the defs directory.
DEFS_FILES = {
    'bootstrap': 'servers/bootstrap.defs',
}

# The other interfaces we ship: no layout data, but they must compile.
COMPILE_ONLY = [
    'mach/thread_act.defs', 'mach/mach_host.defs', 'mach/host_priv.defs',
    'mach/clock.defs', 'mach/clock_priv.defs', 'mach/clock_reply.defs',
    'mach/mach_exc.defs',
]

# Constants the request msgh_bits and mach_msg options are spelled with
# (Apple's values; they are ABI).
CONSTANTS = {
    'MACH_MSG_TYPE_PORT_NAME': 15,
    'MACH_MSG_TYPE_MOVE_RECEIVE': 16,
    'MACH_MSG_TYPE_MOVE_SEND': 17,
    'MACH_MSG_TYPE_MOVE_SEND_ONCE': 18,
    'MACH_MSG_TYPE_COPY_SEND': 19,
    'MACH_MSG_TYPE_MAKE_SEND': 20,
    'MACH_MSG_TYPE_MAKE_SEND_ONCE': 21,
    'MACH_MSG_TYPE_COPY_RECEIVE': 22,
    'MACH_MSG_TYPE_DISPOSE_RECEIVE': 24,
    'MACH_MSG_TYPE_DISPOSE_SEND': 25,
    'MACH_MSG_TYPE_DISPOSE_SEND_ONCE': 26,
    'MACH_MSG_TYPE_PORT_RECEIVE': 16,
    'MACH_MSG_TYPE_PORT_SEND': 17,
    'MACH_MSG_TYPE_PORT_SEND_ONCE': 18,
    'MACH_MSGH_BITS_ZERO': 0,
    'MACH_MSGH_BITS_COMPLEX': 0x80000000,
    'MACH_PORT_NULL': 0,
    'MACH_MSG_OPTION_NONE': 0,
    'MACH_SEND_MSG': 0x1,
    'MACH_RCV_MSG': 0x2,
    'MACH_RCV_LARGE': 0x4,
    'MACH_RCV_LARGE_IDENTITY': 0x8,
    'MACH_SEND_TIMEOUT': 0x10,
    'MACH_SEND_OVERRIDE': 0x20,
    'MACH_SEND_INTERRUPT': 0x40,
    'MACH_SEND_NOTIFY': 0x80,
    'MACH_RCV_TIMEOUT': 0x100,
    'MACH_RCV_NOTIFY': 0x200,
    'MACH_RCV_INTERRUPT': 0x400,
    'MACH_RCV_VOUCHER': 0x800,
    'MACH_SEND_TRAILER': 0x20000,
    'MACH_SEND_NOIMPORTANCE': 0x40000,
    'MACH_SEND_SYNC_OVERRIDE': 0x100000,
    'MACH_SEND_PROPAGATE_QOS': 0x200000,
    'MACH_SEND_SYNC_USE_THRPRI': 0x200000,
    'MACH_SEND_KERNEL': 0x400000,
    'MACH_RCV_SYNC_WAIT': 0x4000,
    'MACH_RCV_SYNC_PEEK': 0x8000,
}


def c_eval(text):
    """Evaluate a msgh_bits or options expression as the C compiler would;
    None if it uses something we do not know."""
    expr = ' '.join(text.split())
    expr = re.sub(r'\((?:mach_msg_bits_t|mach_msg_option_t|'
                  r'mach_msg_options_t|unsigned|int|uint32_t)\)', '', expr)
    expr = re.sub(r'MACH_MSGH_BITS\s*\(', '_bits(', expr)
    expr = re.sub(r'\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\b', r'\1', expr)
    names = set(re.findall(r'[A-Za-z_]\w*', expr)) - {'_bits'}
    if not names <= CONSTANTS.keys():
        return None
    env = dict(CONSTANTS)
    env['_bits'] = lambda remote, local: remote | (local << 8)
    try:
        return int(eval(expr, {'__builtins__': {}}, env)) & 0xffffffff
    except Exception:  # noqa: BLE001 - any failure means "cannot evaluate"
        return None


def same_text(expr):
    """A C expression with its blanks removed, for comparing spellings."""
    return ''.join(expr.split())


def run(cmd, cwd=None):
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    return proc.returncode, proc.stdout


def short(text, lines=12):
    out = [l for l in text.splitlines() if l.strip()]
    if len(out) > lines:
        out = out[:lines] + ['... (%d more lines)' % (len(out) - lines)]
    return '\n'.join('      ' + l for l in out)


# ---------------------------------------------------------------------------
# Reading the generated C.

def strip_comments(src):
    src = re.sub(r'/\*.*?\*/', lambda m: ' ' * len(m.group(0)), src,
                 flags=re.S)
    return re.sub(r'//[^\n]*', '', src)


def functions(src):
    """{name: body} of the function definitions of a C file."""
    src = strip_comments(src)
    # Blank out preprocessor lines and string literals.
    src = re.sub(r'^[ \t]*#[^\n]*(?:\\\n[^\n]*)*', '', src, flags=re.M)
    src = re.sub(r'"(?:\\.|[^"\\])*"', '""', src)
    result = {}
    depth = 0
    start = 0        # start of the current top-level declaration
    body_start = None
    for i, ch in enumerate(src):
        if ch == '{':
            if depth == 0:
                body_start = i
            depth += 1
        elif ch == '}':
            depth -= 1
            if depth == 0 and body_start is not None:
                head = src[start:body_start]
                m = re.search(r'([A-Za-z_]\w*)\s*\([^;{}]*\)\s*$', head,
                              flags=re.S)
                if m and '=' not in head.split('(')[0]:
                    result[m.group(1)] = src[body_start:i + 1]
                start = i + 1
                body_start = None
        elif ch == ';' and depth == 0:
            start = i + 1
    return result


def user_stub(funcs, routine, prefixes):
    for p in [''] + prefixes:
        if p + routine in funcs:
            return p + routine, funcs[p + routine]
    cands = [n for n in funcs if n.endswith('_' + routine)
             and not n.startswith('__MIG')]
    if len(cands) == 1:
        return cands[0], funcs[cands[0]]
    return None, None


def assigned(body, field):
    m = re.search(r'\bmsgh_%s\s*=\s*([^;]+);' % field, body)
    return m.group(1).strip() if m else None


def msg_options(body):
    m = re.search(r'\bmach_msg\w*\s*\(\s*&?\s*\(?\s*\w+\s*->\s*Head\s*\)?\s*,'
                  r'\s*([^,]+),', body)
    return m.group(1).strip() if m else None


# ---------------------------------------------------------------------------
# The layout program.

def layout_program(headers, checks):
    """C source printing one line per check; returns (source, {line: i})."""
    lines = ['#include <stddef.h>', '#include <stdio.h>']
    lines += ['#include "%s"' % h for h in headers]
    lines += ['int main(void)', '{']
    where = {}
    for i, (struct, field, _) in enumerate(checks):
        if field is None:
            lines.append('    printf("%d %%zu\\n", sizeof(%s));' % (i, struct))
        else:
            lines.append('    printf("%d %%zu\\n", offsetof(%s, %s));'
                         % (i, struct, field))
        where[len(lines)] = i
    lines += ['    return 0;', '}', '']
    return '\n'.join(lines), where


def measure(cc, cflags, workdir, stem, headers, checks):
    """Compile and run the layout program, dropping the checks that do not
    compile.  Returns ({check: value}, {check: error}, fatal error)."""
    active = list(range(len(checks)))
    errors = {}
    for _ in range(6):
        sub = [checks[i] for i in active]
        src, where = layout_program(headers, sub)
        c_file = os.path.join(workdir, stem + '.c')
        exe = os.path.join(workdir, stem)
        with open(c_file, 'w') as f:
            f.write(src)
        rc, out = run(cc + cflags + ['-w', '-fmax-errors=0', '-o', exe,
                                     c_file])
        if rc == 0:
            rc, res = run([exe])
            if rc != 0:
                return {}, errors, 'layout program failed:\n' + short(res)
            values = {}
            for line in res.splitlines():
                k, v = line.split()
                values[active[int(k)]] = int(v)
            return values, errors, None
        bad = {}
        for m in re.finditer(r'^%s:(\d+):\d+: error: (.*)$'
                             % re.escape(c_file), out, flags=re.M):
            ln = int(m.group(1))
            if ln in where:
                bad.setdefault(active[where[ln]], m.group(2))
        if not bad:
            return {}, errors, ('layout program does not compile:\n'
                                + short(out))
        errors.update(bad)
        active = [i for i in active if i not in bad]
    return {}, errors, 'layout program does not compile:\n' + short(out)


# ---------------------------------------------------------------------------

def compile_stubs(args, subsys, work, incs, sources, rep, fail_all):
    """Compile the generated stubs with -Wall -Wextra as C (errors fail)
    and, if a C++ compiler is given, as C++ (reported only)."""
    for lang, compiler, extra in (('C', args.cc, ['-std=gnu11']),
                                  ('C++', args.cxx, ['-x', 'c++',
                                                     '-std=c++20'])):
        if not compiler:
            continue
        for src in sources:
            if not os.path.exists(src):
                fail_all('mig wrote no %s' % os.path.basename(src))
                continue
            obj = os.path.join(work, os.path.basename(src) + '.%s.o'
                               % lang.replace('+', 'x'))
            rc, out = run(compiler + extra + incs +
                          ['-Wall', '-Wextra', '-c', '-o', obj, src])
            name = os.path.basename(src)
            if rc != 0:
                msg = '%s does not compile as %s' % (name, lang)
                print('%s %s:\n%s' % (('FAIL' if lang == 'C' else 'WARN'),
                                      msg, short(out, 20)))
                if lang == 'C':
                    rep.failed.setdefault((subsys, name), []).append(msg)
                else:
                    rep.notes.append(msg)
            elif 'warning:' in out:
                n = out.count('warning:')
                print('WARN %s: %d warning(s) as %s with -Wall -Wextra:\n%s'
                      % (name, n, lang, short(out, 8)))
                rep.notes.append('%s: %d warning(s) as %s' % (name, n, lang))


def check_compiles(args, rel, rep):
    """A .defs without layout data: mig must accept it and its stubs must
    compile."""
    subsys = os.path.splitext(os.path.basename(rel))[0]
    defs = os.path.join(args.defs_dir, rel)
    work = os.path.join(args.workdir, subsys)
    os.makedirs(work, exist_ok=True)
    outs = [os.path.join(work, subsys + suffix)
            for suffix in ('.h', 'Server.h', 'User.c', 'Server.c')]
    for f in outs:
        if os.path.exists(f):
            os.remove(f)
    cmd = args.mig + ['-I' + args.defs_dir, '-header', outs[0], '-sheader',
                      outs[1], '-user', outs[2], '-server', outs[3], defs]
    rc, out = run(cmd, cwd=work)
    if rc != 0:
        print('FAIL mig %s (exit %d):\n%s' % (rel, rc, short(out, 30)))
        rep.failed.setdefault((subsys, rel), []).append('mig failed')
        return
    if out.strip():
        rep.notes.append('mig %s said:\n%s' % (subsys, short(out)))
    incs = ['-I' + work] + ['-I' + d for d in args.include]
    compile_stubs(args, subsys, work, incs, outs[2:], rep,
                  lambda msg: rep.failed.setdefault((subsys, rel),
                                                    []).append(msg))
    print('%s: compiles' % rel)


class Report:
    def __init__(self):
        self.failed = {}       # struct -> [messages]
        self.notes = []

    def fail(self, subsys, struct, msg):
        self.failed.setdefault((subsys, struct), []).append(msg)
        print('FAIL %s %s: %s' % (subsys, struct, msg))


def check_subsystem(args, subsys, entries, rep):
    rel = DEFS_FILES.get(subsys, 'mach/%s.defs' % subsys)
    defs = os.path.join(args.defs_dir, rel)
    work = os.path.join(args.workdir, subsys)
    os.makedirs(work, exist_ok=True)
    hdr = os.path.join(work, subsys + '.h')
    shdr = os.path.join(work, subsys + 'Server.h')
    user = os.path.join(work, subsys + 'User.c')
    server = os.path.join(work, subsys + 'Server.c')
    for f in (hdr, shdr, user, server):
        if os.path.exists(f):
            os.remove(f)

    def fail_all(msg):
        for name in entries:
            rep.fail(subsys, name, msg)

    if not os.path.exists(defs):
        fail_all('no .defs file %s' % defs)
        return
    cmd = args.mig + ['-I' + args.defs_dir] + ['-D' + d for d in args.define]
    cmd += ['-header', hdr, '-user', user,
                      '-server', server, '-sheader', shdr, defs]
    rc, out = run(cmd, cwd=work)
    if rc != 0 or not os.path.exists(hdr):
        print('mig %s failed (exit %d): %s\n%s'
              % (subsys, rc, ' '.join(map(shlex.quote, cmd)), short(out, 30)))
        fail_all('mig failed on %s' % rel)
        return
    if out.strip():
        rep.notes.append('mig %s said:\n%s' % (subsys, short(out)))

    incs = ['-I' + work] + ['-I' + d for d in args.include]
    cflags = ['-std=gnu11'] + incs

    # 1. The generated code compiles, and cleanly.
    compile_stubs(args, subsys, work, incs, (user, server), rep,
                  lambda msg: fail_all(msg))

    # 2. Sizes and offsets.
    checks = []
    for name, e in entries.items():
        checks.append((name, None, e['size']))
        for fname, off, _ctype in e['fields']:
            checks.append((name, fname, off))
    values, errors, fatal = measure(args.cc, cflags, work, 'layout_' + subsys,
                                    [os.path.basename(hdr)], checks)
    if errors and os.path.exists(shdr):
        # Structs missing from the user header may be in the server header.
        retry = sorted(errors)
        v2, e2, f2 = measure(args.cc, cflags, work, 'layout_s_' + subsys,
                             [os.path.basename(shdr)],
                             [checks[i] for i in retry])
        if not f2:
            for j, i in enumerate(retry):
                if j in v2:
                    values[i] = v2[j]
                    errors.pop(i, None)
    if fatal:
        print('%s: %s' % (subsys, fatal))
        fail_all('cannot measure the layout (see above)')
        return
    static = ['#include <stddef.h>', '#include "%s"' % os.path.basename(hdr)]
    missing = set()     # structs whose sizeof does not even compile
    for i, (struct, field, want) in enumerate(checks):
        if i in errors:
            if field is None:
                missing.add(struct)
                rep.fail(subsys, struct, 'not declared by the generated '
                         'header (%s)' % errors[i])
            elif struct not in missing:
                rep.fail(subsys, struct, "no field '%s' (%s)"
                         % (field, errors[i]))
            continue
        got = values.get(i)
        if field is None:
            static.append('_Static_assert(sizeof(%s) == %d, "sizeof %s");'
                          % (struct, want, struct))
            if got != want:
                rep.fail(subsys, struct, 'sizeof expected %d, got %s'
                         % (want, got))
        else:
            static.append('_Static_assert(offsetof(%s, %s) == %d, '
                          '"offsetof %s.%s");'
                          % (struct, field, want, struct, field))
            if got != want:
                rep.fail(subsys, struct, "field '%s' offset expected %d, "
                         'got %s' % (field, want, got))
    st_file = os.path.join(work, 'static_asserts_%s.c' % subsys)
    with open(st_file, 'w') as f:
        f.write('\n'.join(static) + '\n')
    rc, out = run(args.cc + cflags + ['-w', '-fsyntax-only', st_file])
    if rc != 0:
        n = out.count('static assertion failed')
        if n == 0 or not any(k[0] == subsys for k in rep.failed):
            print('FAIL %s: the _Static_assert file does not compile:\n%s'
                  % (subsys, short(out)))
            rep.failed.setdefault((subsys, os.path.basename(st_file)),
                                  []).append('static asserts')

    # 3. msgh_id, msgh_bits and mach_msg options, from the user stubs.
    if not os.path.exists(user):
        return
    with open(user) as f:
        usrc = f.read()
    ufuncs = functions(usrc)
    sfuncs = {}
    if os.path.exists(server):
        with open(server) as f:
            sfuncs = functions(f.read())
    with open(defs) as f:
        prefixes = re.findall(r'^\s*userprefix\s+(\w+)\s*;', f.read(),
                              flags=re.M | re.I)
    for name, e in entries.items():
        routine = e['routine']
        fname, body = user_stub(ufuncs, routine, prefixes)
        if e['kind'] == 'Request':
            if body is None:
                rep.fail(subsys, name, 'no user stub for routine %s found '
                         'in %s' % (routine, os.path.basename(user)))
                continue
            got = assigned(body, 'id')
            if got is None or c_eval(got) != e['msgh_id']:
                rep.fail(subsys, name, 'msgh_id expected %d, got %s (in %s)'
                         % (e['msgh_id'], got, fname))
            want = c_eval(e['request_msgh_bits'])
            got = assigned(body, 'bits')
            if want is None:
                # A polymorphic destination (MACH_MSGH_BITS(objPoly, 0)):
                # the bits name the stub's argument, so compare the text.
                if got is None or same_text(got) != same_text(
                        e['request_msgh_bits']):
                    rep.fail(subsys, name, 'request msgh_bits expected %s, '
                             'got %s' % (e['request_msgh_bits'],
                                         got and ' '.join(got.split())))
            elif got is None or c_eval(got) != want:
                rep.fail(subsys, name, 'request msgh_bits expected %s '
                         '(0x%x), got %s' % (e['request_msgh_bits'], want,
                                             got and ' '.join(got.split())))
            want = c_eval(e['mach_msg_options'])
            got = msg_options(body)
            if got is None or c_eval(got) != want:
                rep.fail(subsys, name, 'mach_msg options expected %s, got %s'
                         % (e['mach_msg_options'], got))
        else:
            # The reply id: the user side checks it (Apple's MIG does so in
            # __MIG_check__Reply__<routine>_t); for a simpleroutine only the
            # server side knows it (it answers with request id + 100).
            want = e['msgh_id']
            texts = [b for n, b in ufuncs.items()
                     if n == fname or n.endswith('Reply__%s_t' % routine)]
            if body is not None:
                texts.append(body)
            ids = set()
            for t in texts:
                ids |= {int(x) for x in
                        re.findall(r'msgh_id\s*!=\s*(\d+)', t)}
                ids |= {int(x) for x in
                        re.findall(r'(\d+)\s*!=\s*\w+(?:->|\.)\s*(?:Head\.)?'
                                   r'msgh_id', t)}
            ids.discard(71)   # MACH_NOTIFY_SEND_ONCE, checked by every stub
            if ids:
                if want not in ids:
                    rep.fail(subsys, name, 'reply msgh_id expected %d, the '
                             'user stub checks for %s'
                             % (want, sorted(ids)))
            else:
                stext = '\n'.join(sfuncs.values())
                if not (re.search(r'msgh_id\s*\+\s*100\b', stext)
                        or re.search(r'\b%d\b' % want, stext)):
                    rep.fail(subsys, name, 'reply msgh_id %d: neither the '
                             'user stub nor the server sets or checks it'
                             % want)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--mig', required=True, help='the mig command')
    ap.add_argument('--defs-dir', required=True)
    ap.add_argument('--json', required=True, help='mig-layouts.json')
    ap.add_argument('--workdir', required=True)
    ap.add_argument('--cc', default=os.environ.get('CC', 'cc'))
    ap.add_argument('--cxx', default=os.environ.get('CXX', ''),
                    help='also compile the stubs as C++ (warnings only)')
    ap.add_argument('-I', '--include', action='append', default=[])
    ap.add_argument('-D', '--define', action='append', default=[],
                    help='a macro for mig\'s preprocessor (NAME or NAME=V)')
    ap.add_argument('--compile-only', action='append', default=None,
                    metavar='DEFS', help='a .defs (relative to --defs-dir) '
                    'without layout data, only compiled (default: the '
                    'other shipped interfaces)')
    ap.add_argument('--exclude', action='append', default=[],
                    metavar='SUBSYSTEM', help='a subsystem of the JSON file '
                    'not to check')
    ap.add_argument('subsystems', nargs='*',
                    help='only these subsystems (default: all)')
    args = ap.parse_args()
    args.mig = shlex.split(args.mig)
    if os.sep in args.mig[0]:
        args.mig[0] = os.path.abspath(args.mig[0])
    args.cc = shlex.split(args.cc)
    args.cxx = shlex.split(args.cxx) if args.cxx else None
    args.defs_dir = os.path.abspath(args.defs_dir)
    args.workdir = os.path.abspath(args.workdir)
    args.include = [os.path.abspath(d) for d in args.include]

    with open(args.json) as f:
        data = json.load(f)
    for subsys in args.exclude:
        if subsys not in data:
            print('unknown subsystem %s' % subsys)
            return 2
        del data[subsys]
    names = args.subsystems or sorted(data)
    rep = Report()
    total = 0
    for subsys in names:
        if subsys not in data:
            print('unknown subsystem %s' % subsys)
            return 2
        entries = data[subsys]
        total += len(entries)
        before = len(rep.failed)
        check_subsystem(args, subsys, entries, rep)
        bad = sum(1 for k in rep.failed if k[0] == subsys and k[1] in entries)
        print('%s: %d structs, %d failed' % (subsys, len(entries), bad))
        del before

    if args.compile_only is None:
        args.compile_only = [] if args.subsystems else COMPILE_ONLY
    for rel in args.compile_only:
        check_compiles(args, rel, rep)

    for note in rep.notes:
        print('note: ' + note)
    failed_structs = sum(1 for k in rep.failed if k[1] in data.get(k[0], {}))
    other = len(rep.failed) - failed_structs
    print('layout: %d structs checked, %d failed' % (total, failed_structs))
    if other:
        print('layout: %d other failure(s) (mig or the C compiler '
              'rejected generated code)' % other)
    return 1 if rep.failed else 0


if __name__ == '__main__':
    sys.exit(main())
