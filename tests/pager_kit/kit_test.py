#!/usr/bin/env python3
"""tests/pager_kit/kit_test.py CASE KIT EXAMPLE BROKEN MACHD [DSM_PAGER]

Runs mach-pager-test (KIT) with its own private machd (MACHD) against one
pager and checks the report: a conforming pager (EXAMPLE, and the program
pagers/dsm-pager with machd as its one kernel) passes every workload; each way of breaking the protocol (BROKEN MODE) is reported, with
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


ALL = ["sequential-read", "random-read", "shared", "write-clean", "clean-redirty", "unmap-writeback", "fork",
       "kill-pager"]


def conforming(c, rc, report):
    """A conforming pager passes every workload, with latency percentiles
    over every first touch."""
    c.expect(rc == 0, "exit status 0")
    v = verdicts(report)
    for w in ALL:
        c.expect(v.get(w) == "PASS", f"{w} passes (got {v.get(w)})")
    c.has(report, r"^protocol violations: pager 0, kernel 0$")
    m = re.search(r"^fault latency \(first touch in the tasks, (\d+) touches\): p50 \S+ \S+  p90 \S+ \S+  p99 \S+ \S+",
                  report, re.M)
    c.expect(m and int(m.group(1)) >= 512, "latency percentiles over at least a window of first touches")
    c.has(report, r"^requests: \d+ data_request for \d+ pages; sizes: \d+ pages x\d+")
    c.has(report, r"^RESULT: PASS")


QUICK = ["--timeout", "1", "--window-pages", "64"]

# Each broken pager: its mode, the kit's options, and what the report must say.
BROKEN = {
    "unanswered-request-is-reported": (
        "silent", QUICK + ["--workloads", "sequential-read,write-clean"], [
            r"^  \[pager\] request-unanswered in sequential-read: data_request \[0x0, 0x40000\)",
            r"task 1 \(reading\) was killed by Bus error while touching object offset 0x0",
            r"^  FAIL    write-clean"]),
    "missing-ready-is-reported": (
        "no-ready", QUICK + ["--workloads", "sequential-read"], [
            r"^  \[pager\] ready-missing in sequential-read",
            r"task 1 \(reading\) (hung|was killed by Bus error)"]),
    "misplaced-supply-is-reported": (
        "misplace", QUICK + ["--workloads", "sequential-read"], [
            r"^  \[pager\] supply-content in sequential-read: data_supply at 0x1000: 64 of 64 pages",
            r"^  \[pager\] request-unanswered in sequential-read: data_request \[0x0, 0x40000\) "
            r"\(64 pages\): 1 pages \(the first at 0x0\)",
            r"^  \[pager\] supply-unsolicited in sequential-read: .* nobody asked for \(the first at 0x40000\)"]),
    "unaligned-supply-is-reported": (
        "unaligned", QUICK + ["--workloads", "sequential-read"], [
            r"^  \[pager\] supply-unaligned in sequential-read: data_supply \[0x200, 0x40200\): the offset"]),
    "garbage-is-reported-byte-for-byte": (
        "garbage", QUICK + ["--workloads", "sequential-read,write-clean"], [
            r"^  \[pager\] supply-content in sequential-read: data_supply at 0x0: 64 of 64 pages .* "
            r"word at 0x0 is 0xa5a5a5a5a5a5a5a5, expected 0x[0-9a-f]{16} \(the pattern of the seed\)",
            r"task 1, after the flush, read \d+ of 64 pages differently"]),
    "data-error-is-reported": (
        "error", QUICK + ["--workloads", "sequential-read"], [
            r"^  \[pager\] data-error in sequential-read: data_error\(0xa, .*\) for \[0x0, 0x40000\)",
            r"task 1 \(reading\) was killed by Bus error while touching object offset 0x0"]),
    # Two requests in the first window: the pager dies on the second.
    "pager-dying-mid-fault-is-reported": (
        "die", ["--timeout", "1", "--window-pages", "128"], [
            r"^  \[pager\] pager-died in sequential-read: the pager died .* with data_request "
            r"\[0x40000, 0x80000\) \(64 pages\) unanswered",
            r"task 1 \(reading\) was killed by Bus error while touching object offset 0x40000",
            r"^  NOT RUN random-read",
            r"^pager:   was killed by signal 6"]),
    "lost-write-back-is-reported": (
        "forget-writes", QUICK + ["--workloads", "sequential-read,write-clean,unmap-writeback"], [
            r"^  PASS    sequential-read",
            r"^  FAIL    write-clean",
            r"^  FAIL    unmap-writeback",
            r"^  \[pager\] supply-content in write-clean: .*\(what the kernel returned to the pager\)"]),
}


def main():
    case, kit, example, broken, machd = sys.argv[1:6]
    dsm_pager = sys.argv[6] if len(sys.argv) > 6 else None
    c = Checks()
    if case == "conforming-pager-passes":
        rc, report = run(kit, machd, [example], "--timeout", "3")
        conforming(c, rc, report)
    elif case == "write-locked-pager-passes-in-any-mode":
        rc, report = run(kit, machd, [example, "--lock-writes"], "--timeout", "3", "--content", "any")
        conforming(c, rc, report)
        c.has(report, r"; [1-9]\d* data_unlock, [1-9]\d* lock_request by the pager")
    elif case == "caching-pager-passes":
        # may_cache TRUE: no terminate between workloads; the kit cleans and
        # flushes where it would have waited for one.
        rc, report = run(kit, machd, [example, "--may-cache"], "--timeout", "3")
        conforming(c, rc, report)
        c.has(report, r"^kernel: 1 init, 0 terminate, ")
    elif case == "self-cleaning-pager-passes":
        # The pager cleans on its own every 5 ms, waiting for lock_completed,
        # and asks for supply completions: the kit passes them on.
        rc, report = run(kit, machd, [example, "--clean-ms", "5"], "--timeout", "3")
        conforming(c, rc, report)
        c.has(report, r"; 0 data_unlock, [1-9]\d* lock_request by the pager")
    elif case == "dsm-pager-passes-in-any-mode":
        # Its object starts as zeroes (not the kit's pattern); every page is
        # supplied read-only and written through data_unlock.
        pager = ["sh", "-c", 'exec "$0" --name "$MACH_PAGER_NAME" --size "$MACH_PAGER_SIZE"', dsm_pager]
        rc, report = run(kit, machd, pager, "--timeout", "3", "--content", "any")
        conforming(c, rc, report)
        c.has(report, r"; [1-9]\d* data_unlock, [1-9]\d* lock_request by the pager")
    elif case in BROKEN:
        mode, options, patterns = BROKEN[case]
        rc, report = run(kit, machd, [broken, mode], *options)
        c.expect(rc == 1, "exit status 1")
        for p in patterns:
            c.has(report, p)
    else:
        sys.exit(f"no case {case}")
    c.done()


if __name__ == "__main__":
    main()
