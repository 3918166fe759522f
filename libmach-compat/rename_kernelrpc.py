#!/usr/bin/env python3
"""Renames chosen routines of MIG-generated user stubs to _kernelrpc_NAME,
as XNU's libsyscall builds them: the public NAME is then the library's own
function, which serves the calling task itself in-process (a "trap") and
calls _kernelrpc_NAME, the message to machd, for any other task.

usage: rename_kernelrpc.py IN_USER_C IN_USER_H OUT_USER_C OUT_USER_H NAME...
"""
import re
import sys


def main():
    in_c, in_h, out_c, out_h = sys.argv[1:5]
    names = sys.argv[5:]
    pat = re.compile(r"\b(%s)\b(?=\s*\n?\()" % "|".join(map(re.escape, names))) if names else None
    for src, dst in ((in_c, out_c), (in_h, out_h)):
        text = open(src).read()
        if pat:
            text = pat.sub(lambda m: "_kernelrpc_" + m.group(1), text)
        text = text.replace('#include "%s"' % in_h.rsplit("/", 1)[-1], '#include "%s"' % out_h.rsplit("/", 1)[-1])
        open(dst, "w").write(text)


if __name__ == "__main__":
    main()
