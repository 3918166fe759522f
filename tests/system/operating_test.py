#!/usr/bin/env python3
"""tests/system/operating_test.py — running machd as a user meets it: the
programs' options, a task that cannot reach machd, the /tmp fallback socket,
the peer-uid check, where a detached machd logs, and what machd tells systemd
(journal priorities, sd_notify status and watchdog).

usage: operating_test.py RULE   (one of the functions named in RULES)

Paths come from the environment (meson sets them): MACHD_BIN, MACH_RUN_BIN,
MIG_BIN, FILE_PAGER_BIN, COMPRESS_PAGER_BIN, DEFAULT_PAGER_BIN, DSM_PAGER_BIN, MACH_PAGER_TEST_BIN,
NETMSGD_BIN, OPS_PROBE,
PROJECT_VERSION. Rules that need another user (nobody,
65534) or namespaces are skipped (exit 77) when not run as root.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

MACHD = os.environ["MACHD_BIN"]
MACH_RUN = os.environ["MACH_RUN_BIN"]
MIG = os.environ["MIG_BIN"]
FILE_PAGER = os.environ["FILE_PAGER_BIN"]
COMPRESS_PAGER = os.environ["COMPRESS_PAGER_BIN"]
DSM_PAGER = os.environ["DSM_PAGER_BIN"]
DEFAULT_PAGER = os.environ["DEFAULT_PAGER_BIN"]
MACH_PAGER_TEST = os.environ["MACH_PAGER_TEST_BIN"]
NETMSGD = os.environ["NETMSGD_BIN"]
PROBE = os.environ["OPS_PROBE"]
VERSION = os.environ["PROJECT_VERSION"]
NOBODY = 65534
SKIP = 77

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def run(argv, env=None, user=None, timeout=20, stdin=None):
    """Runs argv (as `user` via setpriv if given); returns CompletedProcess."""
    if user is not None:
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + argv
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, stdin=stdin)


def clean_env(**extra):
    """The environment without any socket hint, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MACHD_SOCKET", "XDG_RUNTIME_DIR", "MACH_COMPAT_QUIET", "JOURNAL_STREAM", "NOTIFY_SOCKET")}
    env.update(extra)
    return env


def wait_for(pred, seconds=5.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


class Machd:
    """machd --foreground on `socket` (as `user` if given), stopped on exit."""

    def __init__(self, socket, extra=(), user=None, env=None):
        argv = [MACHD, "--foreground", "--socket", socket, "--log-level", "info"] + list(extra)
        if user is not None:
            argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + argv
        self.socket = socket
        self.proc = subprocess.Popen(argv, env=env or clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        if not wait_for(lambda: os.path.exists(socket) or self.proc.poll() is not None):
            raise RuntimeError("machd did not start")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.log = self.proc.communicate(timeout=10)[1]
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.log = self.proc.communicate()[1]


# ---- rules ---------------------------------------------------------------------------------------


def every_program_answers_help_and_version():
    # Without a machd to reach: the answer needs none. The pager programs and
    # the kit are linked with libmach-compat, which tries machd when it loads
    # and says on stderr that none answers; MACH_COMPAT_QUIET keeps that out.
    env = clean_env(MACHD_SOCKET="/nonexistent-machd-dir/machd.sock", MACH_COMPAT_QUIET="1")
    for prog, name in ((MACHD, "machd"), (MACH_RUN, "mach-run"), (MIG, "mig"), (FILE_PAGER, "file-pager"),
                       (COMPRESS_PAGER, "compress-pager"), (DEFAULT_PAGER, "default-pager"), (DSM_PAGER, "dsm-pager"), (NETMSGD, "mach-netmsgd"),
                       (MACH_PAGER_TEST, "mach-pager-test")):
        r = run([prog, "--help"], env=env)
        check(r.returncode == 0 and "usage:" in r.stdout and r.stderr == "",
              f"{name} --help: rc {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr!r}")
        r = run([prog, "--version"], env=env)
        check(r.returncode == 0 and r.stdout.startswith(name + " ") and VERSION in r.stdout and r.stderr == "",
              f"{name} --version: rc {r.returncode}, {r.stdout!r} {r.stderr!r}")
    # mig keeps Apple's single-dash spelling too.
    r = run([MIG, "-version"])
    check(r.returncode == 0 and VERSION in r.stdout, f"mig -version: {r.returncode} {r.stdout!r}")


def mach_run_parses_its_options_up_to_the_program():
    # --version is mach-run's, not a program to run.
    r = run([MACH_RUN, "--version"], env=clean_env(MACHD_SOCKET="/nonexistent/machd.sock"))
    check(r.returncode == 0 and r.stdout.startswith("mach-run") and "cannot" not in r.stderr,
          f"mach-run --version: {r.returncode} {r.stdout!r} {r.stderr!r}")
    r = run([MACH_RUN, "--frobnicate", "true"])
    check(r.returncode == 2 and "--frobnicate" in r.stderr, f"mach-run unknown option: {r.returncode} {r.stderr!r}")
    r = run([MACH_RUN])
    check(r.returncode == 2 and "no program" in r.stderr, f"mach-run without program: {r.returncode} {r.stderr!r}")
    r = run([MACH_RUN, "--"])
    check(r.returncode == 2, f"mach-run -- without program: {r.returncode}")


def bad_option_values_exit_2_with_a_message():
    cases = [
        (["--log-level", "loud"], "--log-level", "loud"),
        (["--log-level", ""], "--log-level", ""),
        (["--idle-exit", "-5"], "--idle-exit", "-5"),
        (["--idle-exit", "soon"], "--idle-exit", "soon"),
        (["--idle-exit", "1.5"], "--idle-exit", "1.5"),
        (["--idle-exit", "99999999999999999999"], "--idle-exit", "99999999999999999999"),
        (["--idle-exit", "3000000000"], "--idle-exit", "3000000000"),
        (["--pager-timeout", "0"], "--pager-timeout", "0"),
        (["--pager-timeout", "-1"], "--pager-timeout", "-1"),
        (["--pager-timeout", "x"], "--pager-timeout", "x"),
        (["--allow-uid", "bob"], "--allow-uid", "bob"),
        (["--log-file", ""], "--log-file", ""),
        (["--memory-limit", "512K"], "--memory-limit", "512K"),
        (["--memory-limit", "lots"], "--memory-limit", "lots"),
        (["--memory-limit", "2T"], "--memory-limit", "2T"),
        (["--max-eager-copy-per-user", "512K"], "--max-eager-copy-per-user", "512K"),
        (["--max-eager-copy-per-user", "2T"], "--max-eager-copy-per-user", "2T"),
    ]
    for args, option, value in cases:
        r = run([MACHD, "--foreground", "--socket", "/nonexistent/machd.sock"] + args)
        check(r.returncode == 2 and option in r.stderr and f"'{value}'" in r.stderr,
              f"machd {args}: rc {r.returncode}, stderr {r.stderr!r}")
    r = run([MACHD, "--no-such-option"])
    check(r.returncode == 2 and "no-such-option" in r.stderr, f"machd unknown option: {r.returncode} {r.stderr!r}")
    r = run([MACHD, "stray"])
    check(r.returncode == 2 and "stray" in r.stderr, f"machd stray argument: {r.returncode} {r.stderr!r}")
    r = run([MIG, "-frobnicate"])
    check(r.returncode == 2 and "frobnicate" in r.stderr, f"mig unknown option: {r.returncode} {r.stderr!r}")
    # The pager programs and the kit: a usage error is 2 and names what is wrong.
    pager_cases = [
        ([FILE_PAGER, "--sync-every", "0", "/etc/hostname"], "'0'"),
        ([FILE_PAGER, "--sync-every", "soon", "/etc/hostname"], "'soon'"),
        ([FILE_PAGER, "--grow", "--name"], "--name"),
        ([FILE_PAGER, "--frobnicate", "/etc/hostname"], "--frobnicate"),
        ([FILE_PAGER, "/etc/hostname", "/etc/passwd"], "/etc/passwd"),
        ([FILE_PAGER], "usage:"),
        ([DEFAULT_PAGER, "--swap-mib", "0"], "'0'"),
        ([DEFAULT_PAGER, "--swap-file"], "--swap-file"),
        ([COMPRESS_PAGER, "--level", "99"], "'99'"),
        ([COMPRESS_PAGER, "--level"], "--level"),
        ([COMPRESS_PAGER, "stray"], "stray"),
        ([MACH_PAGER_TEST, "--tasks", "1", "--", "true"], "'1'"),
        ([MACH_PAGER_TEST, "--workloads", "nonesuch", "--", "true"], "nonesuch"),
        ([MACH_PAGER_TEST], "usage:"),
        ([NETMSGD, "--heartbeat", "0"], "'0'"),
        ([NETMSGD, "--heartbeat", "soon"], "'soon'"),
        ([NETMSGD, "--listen"], "--listen"),
        ([NETMSGD, "--frobnicate"], "--frobnicate"),
    ]
    for argv, said in pager_cases:
        r = run(argv, env=clean_env(MACHD_SOCKET="/nonexistent-machd-dir/machd.sock", MACH_COMPAT_QUIET="1"))
        check(r.returncode == 2 and said in r.stderr and r.stdout == "",
              f"{argv[1:]}: rc {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr!r}")
    # A good value still works (parses, then fails only on the socket).
    r = run([MACHD, "--foreground", "--socket", "/nonexistent/dir/machd.sock", "--log-level", "warn",
             "--idle-exit", "0", "--pager-timeout", "0.5"])
    check(r.returncode == 1, f"machd good values: rc {r.returncode} {r.stderr!r}")


def unreachable_machd_is_reported_once():
    sock = "/nonexistent-machd-dir/machd.sock"
    r = run([PROBE, "call"], env=clean_env(MACHD_SOCKET=sock))
    check(r.returncode == 1, f"probe without machd: rc {r.returncode}")
    krs = re.findall(r"kr=(-?\d+)", r.stdout)
    check(len(krs) == 2 and all(int(k) != 0 for k in krs), f"calls still fail with a Mach error: {r.stdout!r}")
    check(r.stderr.count("libmach-compat:") == 1, f"said exactly once: {r.stderr!r}")
    for hint in (sock, "$MACHD_SOCKET", "mach-run PROG", "systemctl --user start machd.socket", "MACH_COMPAT_QUIET"):
        check(hint in r.stderr, f"message names {hint!r}: {r.stderr!r}")
    r = run([PROBE, "call"], env=clean_env(MACHD_SOCKET=sock, MACH_COMPAT_QUIET="1"))
    check(r.returncode == 1 and r.stderr == "", f"quiet: {r.returncode} {r.stderr!r}")
    # The fallback path is named as such.
    with tempfile.TemporaryDirectory() as d:
        r = run([PROBE, "call"], env=clean_env(XDG_RUNTIME_DIR=d))
        check(f"{d}/machd.sock" in r.stderr and "$XDG_RUNTIME_DIR" in r.stderr, f"runtime dir: {r.stderr!r}")


def private_tmp(inner_rule):
    """Re-runs this script's `inner_rule` in a mount namespace with a fresh /tmp."""
    if os.geteuid() != 0:
        return SKIP
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        "mount -t tmpfs -o mode=1777 tmpfs /tmp && exec \"$0\" \"$1\" \"$2\"",
                        sys.executable, __file__, inner_rule], capture_output=True, text=True, timeout=120)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    check(r.returncode == 0, f"{inner_rule} in a private /tmp: rc {r.returncode}")


def in_userns_as_nobody(argv, env):
    """argv as nobody inside `unshare -Ur` (nobody is root in there)."""
    return run(["unshare", "-Ur"] + argv, env=env, user=NOBODY, timeout=30)


def tmp_fallback_is_per_outer_uid_and_private():
    return private_tmp("_tmp_fallback_inner")


def _tmp_fallback_inner():
    # Real root's fallback directory, as on a shared /tmp.
    os.mkdir("/tmp/machd-0", 0o700)
    env = clean_env(MACH_RUN_IDLE_EXIT="1", XDG_STATE_HOME="/tmp/state")
    r = in_userns_as_nobody(["sh", "-c", "cat /proc/self/uid_map; \"$0\" \"$1\" call", MACH_RUN, PROBE], env)
    check(r.returncode == 0, f"mach-run in unshare -Ur as nobody: rc {r.returncode} {r.stdout!r} {r.stderr!r}")
    mine = "/tmp/machd-%d" % NOBODY
    st = os.stat(mine) if os.path.exists(mine) else None
    check(st is not None and st.st_uid == NOBODY and (st.st_mode & 0o777) == 0o700,
          f"{mine} made for nobody, 0700: {st}")
    check(wait_for(lambda: not os.path.exists(mine + "/machd.sock"), 10), "the private machd went idle and left")
    # Someone else's directory under our name: refused, with a message, by all three.
    os.chown(mine, 0, 0)
    r = in_userns_as_nobody([MACH_RUN, PROBE, "call"], env)
    check(r.returncode == 1 and "belongs to uid" in r.stderr, f"mach-run refuses a foreign dir: {r.stderr!r}")
    r = in_userns_as_nobody([PROBE, "call"], env)
    check(r.returncode == 1 and "belongs to uid" in r.stderr, f"the library refuses a foreign dir: {r.stderr!r}")
    r = in_userns_as_nobody([MACHD, "--foreground"], env)
    check(r.returncode == 1 and "belongs to uid" in r.stderr, f"machd refuses a foreign dir: {r.stderr!r}")
    # Ours but open to others: refused too.
    os.chown(mine, NOBODY, NOBODY)
    os.chmod(mine, 0o755)
    r = in_userns_as_nobody([MACHD, "--foreground"], env)
    check(r.returncode == 1 and "chmod 700" in r.stderr, f"machd refuses a dir open to others: {r.stderr!r}")
    # And real root is not nobody: its own fallback works as before.
    shutil.rmtree(mine)
    r = run([MACH_RUN, PROBE, "call"], env=env)
    check(r.returncode == 0 and os.path.exists("/tmp/machd-0/machd.sock"), f"root's own fallback: {r.stderr!r}")
    wait_for(lambda: not os.path.exists("/tmp/machd-0/machd.sock"), 10)


def shared_dir():
    d = tempfile.mkdtemp(prefix="machd-ops-")
    os.chmod(d, 0o755)
    return d


def machd_serves_only_its_own_uid_unless_told():
    if os.geteuid() != 0:
        return SKIP
    d = shared_dir()
    try:
        # machd as nobody; root connects (root passes the socket's mode, not the uid check).
        os.chown(d, NOBODY, NOBODY)
        sock = d + "/machd.sock"
        with Machd(sock, user=NOBODY) as m:
            r = run([PROBE, "call"], env=clean_env(MACHD_SOCKET=sock))
            check(r.returncode == 1, f"root refused: rc {r.returncode} {r.stdout!r}")
            check(r.stderr.count("libmach-compat:") == 1 and "runs as uid 65534" in r.stderr and
                  "--allow-uid 0" in r.stderr, f"root is told why: {r.stderr!r}")
            r = run([PROBE, "call"], env=clean_env(MACHD_SOCKET=sock), user=NOBODY)
            check(r.returncode == 0, f"machd's own uid served: {r.returncode} {r.stderr!r}")
        check("refusing pid" in m.log and m.log.count("refusing pid") == 1, f"machd logs the refusal once: {m.log!r}")
        os.chown(d, 0, 0)
        with Machd(sock, extra=["--allow-uid", str(NOBODY)]):
            r = run([PROBE, "call"], env=clean_env(MACHD_SOCKET=sock), user=NOBODY)
            check(r.returncode == 0, f"--allow-uid lets nobody in: {r.returncode} {r.stderr!r}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def bootstrap_names_stay_with_their_uid():
    if os.geteuid() != 0:
        return SKIP
    d = shared_dir()
    sock = d + "/machd.sock"
    env = clean_env(MACHD_SOCKET=sock)
    try:
        for shared in (False, True):
            extra = ["--allow-uid", str(NOBODY)] + (["--shared-bootstrap"] if shared else [])
            with Machd(sock, extra=extra):
                holder = subprocess.Popen([PROBE, "check-in", "org.machd.ops-test"], env=env, stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, text=True)
                check(holder.stdout.readline().strip() == "kr=0" and holder.stdout.readline().strip() == "ready",
                      "root checks a name in")
                r = run([PROBE, "look-up", "org.machd.ops-test"], env=env)
                check(r.returncode == 0, f"root finds its own name: {r.stdout!r}")
                r = run([PROBE, "look-up", "org.machd.ops-test"], env=env, user=NOBODY)
                if shared:
                    check(r.returncode == 0, f"--shared-bootstrap: nobody finds root's name: {r.stdout!r}")
                else:
                    check(r.returncode == 3, f"nobody does not see root's name: rc {r.returncode} {r.stdout!r}")
                    # ... and may have the same name for itself.
                    r = run(["sh", "-c", "\"$0\" check-in org.machd.ops-test </dev/null", PROBE], env=env, user=NOBODY)
                    check(r.returncode == 0, f"nobody checks in the same name: {r.stdout!r} {r.stderr!r}")
                holder.stdin.close()
                holder.wait(timeout=10)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def detached_machd_logs_to_its_file():
    d = tempfile.mkdtemp(prefix="machd-ops-")
    try:
        sock = d + "/machd.sock"
        env = clean_env(XDG_STATE_HOME=d + "/state")
        # Detached (no --foreground): the starter's terminal gets nothing once it listens.
        r = run([MACHD, "--socket", sock, "--log-level", "info", "--idle-exit", "1"], env=env)
        check(r.returncode == 0 and r.stdout == "" and r.stderr == "", f"detached start: {r}")
        log = d + "/state/machd/machd.log"
        check(wait_for(lambda: os.path.exists(log) and "listening" in open(log).read()), f"{log} written")
        check(wait_for(lambda: not os.path.exists(sock), 10), "idle exit")
        check("idle for 1s" in open(log).read(), f"the log goes on in the file: {open(log).read()!r}")
        # --log-file PATH, in the foreground too.
        other = d + "/other/log.txt"
        r = run([MACHD, "--foreground", "--socket", d + "/nodir/x/machd.sock", "--log-file", other], env=env)
        check(r.returncode == 1 and r.stderr == "" and "bind" in open(other).read(),
              f"--log-file: {r.returncode} {r.stderr!r}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def under_systemd_machd_logs_by_priority_and_notifies():
    return private_tmp("_under_systemd_inner")


def _under_systemd_inner():
    """In a private /tmp and /run: a journal socket and a notification socket
    of our own, and machd started as systemd would (LISTEN_FDS, fd 3)."""
    import socket
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run"], check=True)
    os.makedirs("/run/systemd/journal")
    journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    journal.bind("/run/systemd/journal/socket")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind("/tmp/notify")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind("/tmp/machd.sock")
    listener.listen(16)
    env = clean_env(NOTIFY_SOCKET="/tmp/notify", WATCHDOG_USEC="300000", LISTEN_FDS="1")

    fd = listener.fileno()
    machd = subprocess.Popen(["sh", "-c", "LISTEN_PID=$$ exec \"$0\" --systemd --log-level debug 3<&$1",
                              MACHD, str(fd)], env=env, pass_fds=(fd,), stderr=subprocess.PIPE, text=True)
    notes = []

    def read_notes(until, seconds):
        notify.settimeout(0.1)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                notes.append(notify.recv(4096).decode())
            except socket.timeout:
                pass
            if until(notes):
                return True
        return until(notes)

    try:
        check(read_notes(lambda n: any("READY=1" in x for x in n), 5), f"READY=1: {notes}")
        check(any("STATUS=listening on /tmp/machd.sock" in x for x in notes), f"a status line with READY: {notes}")
        r = run([PROBE, "call"], env=clean_env(MACHD_SOCKET="/tmp/machd.sock"))
        check(r.returncode == 0, f"a task served under --systemd: {r.stderr!r}")
        check(read_notes(lambda n: sum("WATCHDOG=1" in x for x in n) >= 3, 3), f"watchdog pings: {notes}")
        # The task came and went: the status says so (at most every 2 s).
        check(read_notes(lambda n: any(re.search(r"STATUS=.*\b[01] tasks? connected", x) for x in n[1:]), 6),
              f"status with tasks: {notes}")
        # A client that speaks nonsense: machd warns.
        bad = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        bad.connect("/tmp/machd.sock")
        bad.settimeout(5)
        bad.send(b"nonsense")
        try:
            bad.recv(64)
        except socket.timeout:
            check(False, "machd answers a bad hello")
        bad.close()
    finally:
        machd.send_signal(signal.SIGTERM)
        err = machd.communicate(timeout=10)[1]
    check(machd.returncode == 0, f"machd --systemd exit: {machd.returncode} {err!r}")
    check(err == "", f"nothing on stderr under systemd: {err!r}")
    check(read_notes(lambda n: any("STOPPING=1" in x for x in n), 2), f"STOPPING=1: {notes}")
    journal.settimeout(0.2)
    entries = []
    try:
        while True:
            entries.append(journal.recv(65536).decode(errors="replace"))
    except socket.timeout:
        pass
    def priority_of(text):
        for e in entries:
            if text in e:
                m = re.search(r"^PRIORITY=(\d)$", e, re.M)
                return int(m.group(1)) if m else None
        return None
    check(priority_of("refusing client") == 4, f"a warning has PRIORITY=4: {entries}")
    check(priority_of("machd listening") == 6, f"info has PRIORITY=6: {entries}")
    check(priority_of("connected: pid") == 7, f"debug has PRIORITY=7: {entries}")
    check(all("SYSLOG_IDENTIFIER=machd" in e for e in entries) and entries, f"identifier machd: {entries}")


RULES = {f.__name__: f for f in (
    every_program_answers_help_and_version, mach_run_parses_its_options_up_to_the_program,
    bad_option_values_exit_2_with_a_message, unreachable_machd_is_reported_once,
    tmp_fallback_is_per_outer_uid_and_private, _tmp_fallback_inner, machd_serves_only_its_own_uid_unless_told,
    bootstrap_names_stay_with_their_uid, detached_machd_logs_to_its_file,
    under_systemd_machd_logs_by_priority_and_notifies, _under_systemd_inner)}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in RULES:
        sys.exit("usage: operating_test.py " + "|".join(RULES))
    if RULES[sys.argv[1]]() == SKIP:
        sys.exit(SKIP)
    sys.exit(1 if failures else 0)
