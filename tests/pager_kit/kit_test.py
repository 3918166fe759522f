#!/usr/bin/env python3
"""tests/pager_kit/kit_test.py CASE KIT EXAMPLE BROKEN MACHD

Runs mach-pager-test (KIT) with its own private machd (MACHD) against one
pager and checks the report: a conforming pager (EXAMPLE) passes every
workload; each way of breaking the protocol (BROKEN MODE) is reported, with
the rule it broke, and never hangs the kit. Each CASE names the rule it pins.
"""
import re
import subprocess
import sys
import time


def run(kit, machd, pager, *options, limit=90):
    """The kit's exit status and report (stdout), within `limit` seconds."""
    cmd = [kit, "--machd", machd, *options, "--", *pager]
    start = time.monotonic()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        sys.exit(f"the kit hung: {' '.join(cmd)} still ran after {limit} s")
    took = time.monotonic() - start
    print(f"$ {' '.join(cmd)}   ({took:.1f} s, exit {p.returncode})")
    print(p.stdout)
    if p.stderr.strip():
        print("stderr:\n" + p.stderr)
    return p.returncode, p.stdout


def verdicts(report):
    """{workload: verdict} from the report's workload lines."""
    return {m.group(2): m.group(1)
            for m in re.finditer(r"^  (PASS|FAIL|SKIP|NOT RUN)\s+(\S+)", report, re.M)}


class Checks:
    def __init__(self):
        self.failed = []

    def expect(self, cond, what):
        if not cond:
            self.failed.append(what)

    def has(self, report, pattern, what=None):
        self.expect(re.search(pattern, report, re.M), what or f"the report says /{pattern}/")

    def done(self):
        for f in self.failed:
            print("CHECK FAILED: " + f)
        sys.exit(1 if self.failed else 0)


ALL = ["sequential-read", "random-read", "shared", "write-clean", "clean-redirty", "unmap-writeback", "kill-pager"]


def conforming(c, rc, report):
    """A conforming pager passes every workload (fork is skipped), with
    latency percentiles over every first touch."""
    c.expect(rc == 0, "exit status 0")
    v = verdicts(report)
    for w in ALL:
        c.expect(v.get(w) == "PASS", f"{w} passes (got {v.get(w)})")
    c.expect(v.get("fork") == "SKIP", "fork is skipped")
    c.has(report, r"^protocol violations: pager 0, kernel 0$")
    m = re.search(r"^fault latency \(first touch in the tasks, (\d+) touches\): p50 \S+ \S+  p90 \S+ \S+  p99 \S+ \S+",
                  report, re.M)
    c.expect(m and int(m.group(1)) >= 512, "latency percentiles over at least a window of first touches")
    c.has(report, r"^requests: \d+ data_request for \d+ pages; sizes: \d+ pages x\d+")
    c.has(report, r"^RESULT: PASS")


def main():
    case, kit, example, broken, machd = sys.argv[1:6]
    c = Checks()
    quick = ["--timeout", "1", "--window-pages", "64"]
    if case == "conforming-pager-passes":
        rc, report = run(kit, machd, [example], "--timeout", "3")
        conforming(c, rc, report)
    elif case == "write-locked-pager-passes-in-any-mode":
        rc, report = run(kit, machd, [example, "--lock-writes"], "--timeout", "3", "--content", "any")
        conforming(c, rc, report)
        c.has(report, r"; [1-9]\d* data_unlock, [1-9]\d* lock_request by the pager")
    elif case == "unanswered-request-is-reported":
        rc, report = run(kit, machd, [broken, "silent"], *quick, "--workloads", "sequential-read,write-clean")
        c.expect(rc == 1, "exit status 1")
        c.has(report, r"^  \[pager\] request-unanswered in sequential-read: data_request \[0x0, 0x40000\)")
        c.has(report, r"task 1 \(reading\) was killed by Bus error while touching object offset 0x0")
        c.has(report, r"^  FAIL    write-clean")
    elif case == "missing-ready-is-reported":
        rc, report = run(kit, machd, [broken, "no-ready"], *quick, "--workloads", "sequential-read")
        c.expect(rc == 1, "exit status 1")
        c.has(report, r"^  \[pager\] ready-missing in sequential-read")
        c.has(report, r"task 1 \(reading\) (hung|was killed by Bus error)")
    elif case == "misplaced-supply-is-reported":
        rc, report = run(kit, machd, [broken, "misplace"], *quick, "--workloads", "sequential-read")
        c.expect(rc == 1, "exit status 1")
        c.has(report, r"^  \[pager\] supply-content in sequential-read: data_supply at 0x1000: 64 of 64 pages")
        c.has(report, r"^  \[pager\] request-unanswered in sequential-read: data_request \[0x0, 0x40000\) "
                      r"\(64 pages\): 1 pages \(the first at 0x0\)")
        c.has(report, r"^  \[pager\] supply-unsolicited in sequential-read: .* nobody asked for \(the first at 0x40000\)")
    elif case == "unaligned-supply-is-reported":
        rc, report = run(kit, machd, [broken, "unaligned"], *quick, "--workloads", "sequential-read")
        c.expect(rc == 1, "exit status 1")
        c.has(report, r"^  \[pager\] supply-unaligned in sequential-read: data_supply \[0x200, 0x40200\): the offset")
    elif case == "garbage-is-reported-byte-for-byte":
        rc, report = run(kit, machd, [broken, "garbage"], *quick, "--workloads", "sequential-read,write-clean")
        c.expect(rc == 1, "exit status 1")
        c.has(report, r"^  \[pager\] supply-content in sequential-read: data_supply at 0x0: 64 of 64 pages .* "
                      r"word at 0x0 is 0xa5a5a5a5a5a5a5a5, expected 0x[0-9a-f]{16} \(the pattern of the seed\)")
        c.has(report, r"task 1, after the flush, read \d+ of 64 pages differently")
    elif case == "data-error-is-reported":
        rc, report = run(kit, machd, [broken, "error"], *quick, "--workloads", "sequential-read")
        c.expect(rc == 1, "exit status 1")
        c.has(report, r"^  \[pager\] data-error in sequential-read: data_error\(0xa, .*\) for \[0x0, 0x40000\)")
        c.has(report, r"task 1 \(reading\) was killed by Bus error while touching object offset 0x0")
    elif case == "pager-dying-mid-fault-is-reported":
        # Two requests in the first window: the pager dies on the second.
        rc, report = run(kit, machd, [broken, "die"], "--timeout", "1", "--window-pages", "128")
        c.expect(rc == 1, "exit status 1")
        c.has(report, r"^  \[pager\] pager-died in sequential-read: the pager died .* with data_request "
                      r"\[0x40000, 0x80000\) \(64 pages\) unanswered")
        c.has(report, r"task 1 \(reading\) was killed by Bus error while touching object offset 0x40000")
        c.has(report, r"^  NOT RUN random-read")
        c.has(report, r"^pager:   was killed by signal 6")
    elif case == "lost-write-back-is-reported":
        rc, report = run(kit, machd, [broken, "forget-writes"], *quick,
                         "--workloads", "sequential-read,write-clean,unmap-writeback")
        c.expect(rc == 1, "exit status 1")
        v = verdicts(report)
        c.expect(v.get("sequential-read") == "PASS", "sequential-read passes")
        c.expect(v.get("write-clean") == "FAIL", "write-clean fails")
        c.expect(v.get("unmap-writeback") == "FAIL", "unmap-writeback fails")
        c.has(report, r"^  \[pager\] supply-content in write-clean: .*\(what the kernel returned to the pager\)")
    else:
        sys.exit(f"no case {case}")
    c.done()


if __name__ == "__main__":
    main()
