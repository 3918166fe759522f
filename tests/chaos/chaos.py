#!/usr/bin/env python3
"""tests/chaos/chaos.py — a mixed workload of many tasks for N minutes while
random tasks, pagers and machd itself are SIGKILLed; at the end nothing may
have leaked and no task may have hung.

usage: chaos.py [--build DIR] [--minutes N] [--seed S] [--min-live N]
                [--max-live N] [--keep] [--verbose]

What it does (README.md says why):
  * starts a private machd on a socket in a fresh temporary directory, takes
    a baseline of what it holds (chaos_holdings: tasks, ports, port sets,
    names, messages, out-of-line payloads, memfd payloads, vouchers; machctl
    --json stats; its open descriptors; its RSS), and starts default-pager;
  * for N minutes keeps between --min-live and --max-live workloads running
    (the examples, the pagers with their clients, task_helper), and at random
    moments SIGKILLs a client task (or a process it forked), a server or
    pager, or machd itself. After machd's death every task of that machd
    must exit within a bound (10 s; 65 s for dsm_counters, which waits at a
    barrier in shared memory without calling machd); then a fresh machd is
    started on the same socket, a new baseline taken, and the run goes on;
  * a task alive past its deadline is hung; a workload nothing disturbed
    must succeed; machd exiting by itself is a crash;
  * at the end it stops starting workloads, lets the running ones finish,
    stops the servers and pagers, and checks that machd holds what it held
    at its baseline, that its descriptors are back, and that it exits 0 on
    SIGTERM.

Exit status: 0 all checks passed; 1 a check failed (the summary says which);
2 usage or a missing program.
"""
import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time

# ---- bounds (seconds) -------------------------------------------------------
CLIENT_DEADLINE = 120.0     # a client alive this long after its start is hung
                            # (the examples' own waits end within 60 s)
READY_TIMEOUT = 15.0        # a server must say it serves within this
MACHD_DEATH_BOUND = 10.0    # a task of a killed machd must exit within this
BARRIER_DEATH_BOUND = 65.0  # ... unless it spins at a barrier (dsm_counters)
SERVER_STOP_BOUND = 10.0    # a server must exit this long after SIGTERM
SETTLE_TIMEOUT = 20.0       # at the end: machd's holdings back to baseline within this
FD_SLACK = 0                # descriptors machd may hold above its baseline at the end


class Paths:
    """The programs the run needs, in the build directory."""

    def __init__(self, build):
        b = os.path.abspath(build)
        self.build = b
        self.machd = os.path.join(b, "machd", "machd")
        self.mach_run = os.path.join(b, "libmach-compat", "mach-run")
        self.machctl = os.path.join(b, "libmach-compat", "tools", "machctl", "machctl")
        self.holdings = os.path.join(b, "tests", "chaos", "chaos_holdings")
        self.task_helper = os.path.join(b, "tests", "system", "task_helper")
        ex = os.path.join(b, "examples")
        self.ex = ex
        self.kv_server = os.path.join(ex, "kv_store", "kv_server")
        self.kv_client = os.path.join(ex, "kv_store", "kv_client")
        self.file_pager = os.path.join(b, "pagers", "file-pager")
        self.dsm_pager = os.path.join(b, "pagers", "dsm-pager")
        self.default_pager = os.path.join(b, "pagers", "default-pager")

    def example(self, name):
        return os.path.join(self.ex, name)

    def missing(self):
        need = [self.machd, self.mach_run, self.machctl, self.holdings, self.task_helper, self.kv_server,
                self.kv_client, self.file_pager, self.dsm_pager, self.default_pager]
        need += [self.example(n) for n in ("rpc_server", "rpc_client", "pass_receive_right", "ool_transfer",
                                            "dead_name", "pager_demo", "dsm_counters", "fault_repair",
                                            "crash_reporter", "mach_ps", "fs_personality",
                                            "sandbox_personality", "personalities")]
        return [p for p in need if not os.access(p, os.X_OK)]


class Log:
    """Timestamped lines to the run's log file, and to stdout with --verbose."""

    def __init__(self, path, verbose):
        self.t0 = time.monotonic()
        self.f = open(path, "w")
        self.verbose = verbose

    def __call__(self, fmt, *args):
        line = "[%7.2f] %s" % (time.monotonic() - self.t0, fmt % args if args else fmt)
        self.f.write(line + "\n")
        self.f.flush()
        if self.verbose:
            print(line, flush=True)


def machd_answers(path):
    """True if something accepts connections on the Unix socket at path."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def process_groups():
    """{process group: [pids of its live (not zombie) processes]}, now."""
    groups = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if fields[0] != "Z":
            groups.setdefault(int(fields[2]), []).append(int(d))
    return groups


GROUPS = {}  # process_groups() as of the last refresh (once a tick)


def refresh_groups():
    global GROUPS
    GROUPS = process_groups()


def proc_comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return "?"


class Machd:
    """One machd instance (an epoch of the run)."""

    def __init__(self, paths, sock, log_path, epoch):
        self.epoch = epoch
        self.sock = sock
        self.log_path = log_path
        self.logf = open(log_path, "w")
        self.p = subprocess.Popen([paths.machd, "--foreground", "--socket", sock, "--log-level", "warn"],
                                  stdout=self.logf, stderr=subprocess.STDOUT, start_new_session=True)
        self.killed_by_us = False
        self.status = None
        self.baseline = None

    def wait_ready(self, timeout=10.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.p.poll() is not None:
                return False
            if machd_answers(self.sock):
                return True
            time.sleep(0.02)
        return False

    def alive(self):
        if self.status is None and self.p.poll() is not None:
            self.status = self.p.returncode
        return self.status is None

    def fd_count(self):
        try:
            return len(os.listdir("/proc/%d/fd" % self.p.pid))
        except OSError:
            return -1

    def rss_kib(self):
        try:
            with open("/proc/%d/status" % self.p.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return -1


class Proc:
    """One process a workload started (in a process group of its own, so
    that what it forks goes with it)."""

    def __init__(self, label, role, popen, out_path, epoch, death_bound):
        self.label = label
        self.role = role            # "client" or "server"
        self.p = popen
        self.pid = popen.pid
        self.out_path = out_path
        self.epoch = epoch
        self.death_bound = death_bound
        self.started = time.monotonic()
        self.deadline = self.started + CLIENT_DEADLINE if role == "client" else None
        self.status = None          # returncode once reaped
        self.ended = None
        self.term_sent = None       # when SIGTERM was sent (servers)

    def poll(self):
        if self.status is None and self.p.poll() is not None:
            self.status = self.p.returncode
            self.ended = time.monotonic()
        return self.status

    def members(self):
        """Live processes of its group (itself and what it forked), as of
        the last refresh_groups()."""
        return list(GROUPS.get(self.pid, []))

    def output(self, lines=5):
        try:
            with open(self.out_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:]).strip()
        except OSError:
            return ""


class Workload:
    """A set of servers (started first, each until it prints its marker) and
    clients (started once the servers serve); done when every process and
    everything they forked has exited."""

    def __init__(self, wid, kind, epoch, servers, clients, needs_default_pager=False):
        self.wid = wid
        self.kind = kind
        self.epoch = epoch
        self.server_specs = servers   # [(label, argv, marker, death_bound)]
        self.client_specs = clients   # [(label, argv, env, death_bound)]
        self.needs_default_pager = needs_default_pager
        self.procs = []
        self.state = "starting"
        self.created = time.monotonic()
        self.disrupted = []           # what the run did to it
        self.outcome = None           # "ok", "disrupted", "failed: ..."

    def servers(self):
        return [p for p in self.procs if p.role == "server"]

    def clients(self):
        return [p for p in self.procs if p.role == "client"]


class Chaos:
    def __init__(self, args, paths):
        self.a = args
        self.paths = paths
        self.rng = random.Random(args.seed)
        self.tmp = tempfile.mkdtemp(prefix="machd-chaos-")
        self.sock = os.path.join(self.tmp, "machd.sock")
        self.log = Log(os.path.join(self.tmp, "chaos.log"), args.verbose)
        self.env = dict(os.environ, MACHD_SOCKET=self.sock, MACHD_BIN="/bin/false")
        self.env.pop("LD_PRELOAD", None)
        self.failures = []
        self.machd = None
        self.epochs = []
        self.workloads = []
        self.next_wid = 0
        self.spawned = 0
        self.ticks = 0
        # Registering a default pager needs host_priv (a root task's).
        self.use_default_pager = os.geteuid() == 0 and not args.no_default_pager
        self.default_pager = None       # Proc of the current epoch's default-pager
        self.default_pager_due = None   # when to start one again
        self.can_fault = False
        self.counts = {"started": 0, "completed": 0, "disrupted": 0, "failed": 0, "client_kills": 0,
                       "server_kills": 0, "machd_kills": 0, "machd_restarts": 0, "hung": 0,
                       "default_pager_starts": 0}
        self.by_kind = {}

    # ---- failures -----------------------------------------------------------
    def fail(self, what):
        self.failures.append(what)
        self.log("FAIL: %s", what)
        print("chaos: FAIL: %s" % what, file=sys.stderr, flush=True)

    # ---- machd --------------------------------------------------------------
    def start_machd(self):
        epoch = len(self.epochs)
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        m = Machd(self.paths, self.sock, os.path.join(self.tmp, "machd.%d.log" % epoch), epoch)
        if not m.wait_ready():
            self.fail("machd (epoch %d) did not start: %s" % (epoch, self.tail(m.log_path)))
            return False
        self.machd = m
        self.epochs.append(m)
        self.default_pager = None
        self.default_pager_due = None
        self.log("machd epoch %d pid %d up", epoch, m.p.pid)
        return True

    def old_epoch_alive(self):
        """True while a process of an earlier machd lives (as of the last
        refresh_groups()): what it forks and execs now would join the new machd."""
        e = self.machd.epoch
        if any(p.members() for p in self.orphans):
            return True
        return any(p.members() or p.poll() is None for w in self.live_workloads() if w.epoch < e for p in w.procs)

    def take_baseline(self):
        """What machd holds with no workload: taken once no process of an
        earlier machd is left."""
        m = self.machd
        if self.use_default_pager and not self.prime_default_pager():
            return False
        base = self.holdings()
        if base is None:
            self.fail("machd (epoch %d): no baseline (chaos_holdings failed)" % m.epoch)
            return False
        m.baseline = {"holdings": base, "fds": self.settled_fds(), "rss_kib": m.rss_kib(),
                      "machctl": self.machctl_counters(), "fd_kinds": self.fd_kinds(m.p.pid),
                      "kernel_ports": self.kernel_ports()}
        self.log("machd epoch %d baseline %s fds %d rss %d KiB", m.epoch, base, m.baseline["fds"],
                 m.baseline["rss_kib"])
        self.default_pager_due = time.monotonic() if self.use_default_pager else None
        return True

    def prime_default_pager(self):
        """Registers a default pager once and stops it, before the baseline:
        machd keeps the right to its last default memory manager (a dead
        name once that pager is gone), as it will at the end of the run."""
        p = self.spawn("default-pager", "server", [self.paths.default_pager], self.machd.epoch, MACHD_DEATH_BOUND)
        end = time.monotonic() + READY_TIMEOUT
        while "serving" not in p.output() and p.poll() is None and time.monotonic() < end:
            time.sleep(0.05)
        ready = "serving" in p.output()
        p.p.terminate()
        try:
            p.p.wait(SERVER_STOP_BOUND)
        except subprocess.TimeoutExpired:
            p.p.kill()
            p.p.wait()
        if not ready or p.p.returncode != 0:
            self.fail("default-pager (machd epoch %d) did not start and stop cleanly: exit %s: %s" %
                      (self.machd.epoch, p.p.returncode, p.output()))
            return False
        return True

    def settled_fds(self):
        """machd's open descriptors: the fewest over half a second (a task
        that just went, a probe say, is torn down a moment later)."""
        counts = []
        for _ in range(6):
            counts.append(self.machd.fd_count())
            time.sleep(0.1)
        return min(counts)

    def holdings(self):
        try:
            r = subprocess.run([self.paths.holdings], env=self.env, capture_output=True, text=True, timeout=10)
        except subprocess.TimeoutExpired:
            self.fail("chaos_holdings did not answer within 10 s")
            return None
        if r.returncode != 0:
            self.log("chaos_holdings: exit %d: %s", r.returncode, r.stderr.strip())
            return None
        return json.loads(r.stdout)

    def machctl_counters(self):
        try:
            r = subprocess.run([self.paths.machctl, "--json", "stats"], env=self.env, capture_output=True,
                               text=True, timeout=10)
            if r.returncode == 0:
                c = json.loads(r.stdout)["counters"]
                return {"tasks": c["tasks"], "ports": c["ports"]}
            self.log("machctl stats: exit %d: %s", r.returncode, r.stderr.strip())
        except (subprocess.TimeoutExpired, ValueError, KeyError) as e:
            self.log("machctl stats: %s", e)
        return None

    def machctl_json(self, *args):
        try:
            r = subprocess.run([self.paths.machctl, "--json", *args], env=self.env, capture_output=True,
                               text=True, timeout=10)
            return json.loads(r.stdout) if r.returncode == 0 else None
        except (subprocess.TimeoutExpired, ValueError):
            return None

    def tail(self, path, lines=15):
        try:
            with open(path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def kill_machd(self):
        m = self.machd
        self.log("CHAOS: SIGKILL machd epoch %d pid %d", m.epoch, m.p.pid)
        m.killed_by_us = True
        m.p.kill()
        m.p.wait()
        m.status = m.p.returncode
        self.counts["machd_kills"] += 1
        now = time.monotonic()
        # Every task of this machd must now exit within its bound.
        for w in self.workloads:
            if w.epoch == m.epoch and w.state != "done":
                w.disrupted.append("machd killed")
                for p in w.procs:
                    if p.poll() is None:
                        p.machd_deadline = now + p.death_bound
        dp = self.default_pager
        if dp is not None and dp.poll() is None:
            dp.machd_deadline = now + MACHD_DEATH_BOUND
            self.orphans.append(dp)
        self.default_pager = None
        if not self.start_machd():
            return False
        self.counts["machd_restarts"] += 1
        return True

    def check_machd(self):
        """machd exiting by itself is a crash."""
        m = self.machd
        if m is not None and not m.killed_by_us and not m.alive():
            self.fail("machd epoch %d (pid %d) exited by itself with status %s; log:\n%s" %
                      (m.epoch, m.p.pid, m.status, self.tail(m.log_path)))
            return False
        return True

    # ---- processes ----------------------------------------------------------
    def spawn(self, label, role, argv, epoch, death_bound, env_extra=None):
        self.spawned += 1
        out = os.path.join(self.tmp, "out", "%d.%s" % (self.spawned, label))
        env = dict(self.env, **(env_extra or {}))
        with open(out, "w") as f:
            popen = subprocess.Popen([self.paths.mach_run] + argv, env=env, stdin=subprocess.DEVNULL, stdout=f,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        p = Proc(label, role, popen, out, epoch, death_bound)
        p.machd_deadline = None
        return p

    # ---- workloads ----------------------------------------------------------
    def make_workload(self, kind):
        wid = self.next_wid
        self.next_wid += 1
        tag = "chaos.%d.%d" % (os.getpid(), wid)
        ex = self.paths.example
        r = self.rng
        b = MACHD_DEATH_BOUND
        e = self.machd.epoch
        if kind == "rpc":
            n = r.choice([100, 1000, 10000, 50000])
            return Workload(wid, kind, e, [("rpc_server", [ex("rpc_server"), "--count", str(n), "--name", tag],
                                            "serving", b)],
                            [("rpc_client", [ex("rpc_client"), "--count", str(n), "--name", tag, "--wait", "10"],
                              None, b)])
        if kind == "kv":
            return Workload(wid, kind, e, [("kv_server", [self.paths.kv_server, tag], "serving", b)],
                            [("kv_client", [self.paths.kv_client, tag], None, b)])
        if kind == "pass_receive_right":
            return Workload(wid, kind, e, [], [("pass_receive_right", [ex("pass_receive_right")], None, b)])
        if kind == "ool_transfer":
            size = r.choice(["64K", "1M", "16M", "64M"])
            return Workload(wid, kind, e, [], [("ool_transfer", [ex("ool_transfer"), "--size", size], None, b)])
        if kind == "dead_name":
            return Workload(wid, kind, e, [], [("dead_name", [ex("dead_name")], None, b)])
        if kind == "fault_repair":
            return Workload(wid, kind, e, [], [("fault_repair", [ex("fault_repair"), str(r.choice([8, 64, 512]))],
                                                None, b)])
        if kind == "crash_reporter":
            return Workload(wid, kind, e, [], [("crash_reporter", [ex("crash_reporter")], None, b)])
        if kind == "mach_ps":
            return Workload(wid, kind, e, [], [("mach_ps", [ex("mach_ps"), "-n", "4"], None, b)])
        if kind == "anon_fill":
            return Workload(wid, kind, e, [], [("anon_fill", [self.paths.task_helper, "anon-fill"],
                                                {"ANON_MIB": str(r.choice([1, 16, 64]))}, b)])
        if kind == "dp_object":
            return Workload(wid, kind, e, [], [("dp_object", [self.paths.task_helper, "dp-object"], None, b)],
                            needs_default_pager=True)
        if kind == "personalities":
            fs, sb = tag + ".fs", tag + ".sandbox"
            return Workload(wid, kind, e, [("fs_personality", [ex("fs_personality"), "--name", fs], "serving", b),
                                           ("sandbox_personality", [ex("sandbox_personality"), "--name", sb],
                                            "serving", b)],
                            [("personalities", [ex("personalities"), fs, sb], None, b)])
        if kind == "file_pager":
            path = os.path.join(self.tmp, "file.%d.txt" % wid)
            with open(path, "w") as f:
                f.write("".join("line %04d of a file served by file-pager\n" % i for i in range(200)))
            clients = []
            for c in range(r.randint(1, 3)):
                ops = []
                for _ in range(r.randint(1, 30)):
                    off = r.randrange(0, 8000)
                    if r.random() < 0.5:
                        ops += ["write", str(off), "c%d.w%d" % (c, wid)]
                    else:
                        ops += ["read", str(off), str(r.randint(1, 64))]
                clients.append(("pager_demo", [ex("pager_demo"), tag] + ops, None, b))
            return Workload(wid, kind, e, [("file-pager", [self.paths.file_pager, "--name", tag, path], "serving", b)],
                            clients)
        if kind == "dsm":
            workers = r.randint(2, 3)
            rounds = str(r.choice([200, 2000, 20000]))
            return Workload(wid, kind, e, [("dsm-pager", [self.paths.dsm_pager, "--name", tag], "serving", b)],
                            [("dsm_counters", [ex("dsm_counters"), tag, str(w), str(workers), rounds], None,
                              BARRIER_DEATH_BOUND) for w in range(workers)])
        raise ValueError(kind)

    def kinds(self):
        k = self.all_kinds()
        if self.a.kinds:
            k = [x for x in k if x in self.a.kinds.split(",")]
        return k

    def all_kinds(self):
        k = ["rpc", "rpc", "kv", "pass_receive_right", "ool_transfer", "dead_name", "fault_repair",
             "crash_reporter", "mach_ps", "anon_fill", "personalities"]
        dp = self.default_pager
        if dp is not None and dp.poll() is None and "serving" in dp.output():
            k.append("dp_object")
        if self.can_fault:
            k += ["file_pager", "file_pager", "dsm"]
        return k

    def start_workload(self):
        kind = self.rng.choice(self.kinds())
        w = self.make_workload(kind)
        for label, argv, marker, bound in w.server_specs:
            p = self.spawn(label, "server", argv, w.epoch, bound)
            p.marker = marker
            w.procs.append(p)
        self.workloads.append(w)
        self.counts["started"] += 1
        self.by_kind.setdefault(kind, {"started": 0, "ok": 0, "disrupted": 0, "failed": 0})["started"] += 1
        self.log("start w%d %s (epoch %d): servers %s", w.wid, kind, w.epoch,
                 [(p.label, p.pid) for p in w.procs])
        if not w.server_specs:
            self.start_clients(w)

    def start_clients(self, w):
        for label, argv, env, bound in w.client_specs:
            p = self.spawn(label, "client", argv, w.epoch, bound, env)
            w.procs.append(p)
        w.state = "running"
        self.log("w%d %s: clients %s", w.wid, w.kind, [(p.label, p.pid) for p in w.clients()])

    def live_workloads(self):
        return [w for w in self.workloads if w.state != "done"]

    def advance(self, w, now):
        """Moves a workload on: servers ready -> clients; clients done ->
        stop servers; all gone -> judged."""
        for p in w.procs:
            p.poll()
        if w.epoch != self.machd.epoch and w.state != "stopping":
            # Its machd was killed: no clients start, no SIGTERM helps; every
            # process must exit by itself (check_hangs holds the bound).
            w.state = "stopping"
        if w.state == "starting":
            dead = [p for p in w.servers() if p.status is not None]
            if dead:
                if not w.disrupted:
                    w.problem = "server %s exited %s before serving: %s" % (dead[0].label, dead[0].status,
                                                                           dead[0].output())
                self.stop_servers(w, now)
                w.state = "stopping"
            elif all(p.marker in p.output(50) for p in w.servers()):
                self.start_clients(w)
            elif now - w.created > READY_TIMEOUT:
                if not w.disrupted:
                    w.problem = "servers not ready within %.0f s" % READY_TIMEOUT
                self.stop_servers(w, now)
                w.state = "stopping"
        if w.state == "running":
            if all(p.status is not None for p in w.clients()):
                # The servers that end by themselves (rpc_server --count,
                # kv_server after kv_quit) get a moment; then SIGTERM.
                w.clients_done = now
                w.state = "draining"
        if w.state == "draining" and (all(p.status is not None for p in w.servers()) or now - w.clients_done > 2):
            self.stop_servers(w, now)
            w.state = "stopping"
        if w.state == "stopping":
            if all(p.status is not None for p in w.procs) and not any(p.members() for p in w.procs):
                self.judge(w)

    def stop_servers(self, w, now):
        if w.epoch != self.machd.epoch:
            return
        for p in w.servers():
            if p.poll() is None and p.term_sent is None:
                try:
                    os.kill(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                p.term_sent = now

    def judge(self, w):
        w.state = "done"
        kind = self.by_kind[w.kind]
        problem = getattr(w, "problem", None)
        if not problem and not w.disrupted:
            for p in w.clients():
                if p.status != 0:
                    problem = "client %s (pid %d) exit status %s: %s" % (p.label, p.pid, p.status, p.output())
                    break
            for p in w.servers():
                if problem is None and p.status not in (0, -signal.SIGTERM):
                    problem = "server %s (pid %d) exit status %s: %s" % (p.label, p.pid, p.status, p.output())
        if w.disrupted:
            w.outcome = "disrupted"
            self.counts["disrupted"] += 1
            kind["disrupted"] += 1
        elif problem:
            w.outcome = "failed"
            self.counts["failed"] += 1
            kind["failed"] += 1
            self.fail("w%d %s (undisturbed) failed: %s" % (w.wid, w.kind, problem))
        else:
            w.outcome = "ok"
            self.counts["completed"] += 1
            kind["ok"] += 1
        self.log("done w%d %s: %s%s; exits %s", w.wid, w.kind, w.outcome,
                 " (%s)" % "; ".join(w.disrupted) if w.disrupted else "",
                 [(p.label, p.status) for p in w.procs])

    def check_hangs(self, now):
        """A process (or anything it forked) alive past its deadline: hung.
        It is killed, so that the run goes on."""
        for w in self.live_workloads():
            for p in w.procs:
                members = p.members() if p.poll() is not None else [p.pid]
                if not members:
                    continue
                why = None
                if p.machd_deadline is not None and now > p.machd_deadline:
                    why = "still alive %.0f s after its machd (epoch %d) was killed" % (p.death_bound, p.epoch)
                elif p.role == "client" and now > p.deadline:
                    why = "client still alive %.0f s after its start" % CLIENT_DEADLINE
                elif p.role == "server" and p.term_sent is not None and now - p.term_sent > SERVER_STOP_BOUND:
                    why = "server still alive %.0f s after SIGTERM" % SERVER_STOP_BOUND
                if why:
                    self.hung(p, members, "w%d %s: %s" % (w.wid, w.kind, why))
        for p in list(self.orphans):
            members = p.members() if p.poll() is not None else [p.pid]
            if not members:
                self.orphans.remove(p)
            elif now > p.machd_deadline:
                self.hung(p, members, "%s: still alive %.0f s after its machd (epoch %d) was killed" %
                          (p.label, p.death_bound if p.role == "client" else MACHD_DEATH_BOUND, p.epoch))
                self.orphans.remove(p)

    def hung(self, p, members, why):
        detail = ", ".join("%d(%s)%s" % (m, proc_comm(m), self.wchan(m)) for m in members)
        self.counts["hung"] += 1
        self.fail("HUNG %s (pid %d %s; alive: %s); last output: %s" % (why, p.pid, p.label, detail, p.output()))
        for m in members:
            try:
                os.kill(m, signal.SIGKILL)
            except ProcessLookupError:
                pass
        p.machd_deadline = None
        p.deadline = float("inf")
        p.term_sent = None

    def wchan(self, pid):
        try:
            with open("/proc/%d/wchan" % pid) as f:
                return " in " + f.read().strip()
        except OSError:
            return ""

    # ---- the default pager --------------------------------------------------
    def tend_default_pager(self, now):
        dp = self.default_pager
        if dp is not None and dp.poll() is not None:
            if not getattr(dp, "killed", False):
                self.fail("default-pager (pid %d, epoch %d) exited by itself with %s: %s" %
                          (dp.pid, dp.epoch, dp.status, dp.output()))
            self.default_pager = None
            self.default_pager_due = now + 1.0
        if self.default_pager is None and self.default_pager_due is not None and now >= self.default_pager_due:
            self.default_pager = self.spawn("default-pager", "server", [self.paths.default_pager], self.machd.epoch,
                                            MACHD_DEATH_BOUND)
            self.default_pager_due = None
            self.counts["default_pager_starts"] += 1
            self.log("default-pager pid %d (epoch %d)", self.default_pager.pid, self.machd.epoch)

    # ---- chaos ----------------------------------------------------------------
    def kill_client(self):
        refresh_groups()
        cands = []
        for w in self.live_workloads():
            if w.state != "running":
                continue
            for p in w.clients():
                for m in p.members():
                    cands.append((w, p, m))
        if not cands:
            return
        w, p, m = self.rng.choice(cands)
        self.log("CHAOS: SIGKILL client w%d %s pid %d (%s, of %s pid %d)", w.wid, w.kind, m, proc_comm(m),
                 p.label, p.pid)
        try:
            os.kill(m, signal.SIGKILL)
        except ProcessLookupError:
            return
        w.disrupted.append("client pid %d (%s) killed" % (m, p.label))
        self.counts["client_kills"] += 1

    def kill_server(self):
        cands = [(w, p) for w in self.live_workloads() if w.state in ("starting", "running", "draining")
                 for p in w.servers() if p.poll() is None]
        dp = self.default_pager
        if dp is not None and dp.poll() is None:
            cands.append((None, dp))
        if not cands:
            return
        w, p = self.rng.choice(cands)
        if w is None:
            self.log("CHAOS: SIGKILL default-pager pid %d", p.pid)
            p.killed = True
            for x in self.live_workloads():
                if x.needs_default_pager:
                    x.disrupted.append("default-pager pid %d killed" % p.pid)
        else:
            self.log("CHAOS: SIGKILL server w%d %s pid %d (%s)", w.wid, w.kind, p.pid, p.label)
            w.disrupted.append("server %s pid %d killed" % (p.label, p.pid))
        try:
            os.kill(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        self.counts["server_kills"] += 1

    # ---- the run ----------------------------------------------------------------
    def run(self):
        os.mkdir(os.path.join(self.tmp, "out"))
        self.orphans = []
        print("chaos: seed %d, %.1f minute(s), %d-%d workloads, directory %s" %
              (self.a.seed, self.a.minutes, self.a.min_live, self.a.max_live, self.tmp), flush=True)
        if not self.start_machd() or not self.take_baseline():
            return
        self.can_fault = subprocess.run([self.paths.example("pager_demo"), "--can-fault"], env=self.env,
                                        capture_output=True).returncode == 0
        if not self.can_fault:
            print("chaos: this system refuses userfaultfd: no pager workloads (file-pager, dsm)", flush=True)
        end = time.monotonic() + self.a.minutes * 60
        last_machd_kill = time.monotonic()
        target = self.rng.randint(self.a.min_live, self.a.max_live)
        tick = 0.1
        last = time.monotonic()
        while time.monotonic() < end:
            now = time.monotonic()
            dt, last = now - last, now  # the kill rates are per second of real time
            self.ticks += 1
            if not self.observe(now):
                return
            if self.machd.baseline is None:
                # After a restart: nothing new until the old machd's tasks
                # are gone (or were killed as hung), then the baseline.
                if not self.old_epoch_alive():
                    if not self.take_baseline():
                        return
                    self.log("resuming after %.1f s", time.monotonic() - last_machd_kill)
                time.sleep(tick)
                continue
            self.tend_default_pager(now)
            if self.rng.random() < tick / 10:
                target = self.rng.randint(self.a.min_live, self.a.max_live)
            starting = 0
            while len(self.live_workloads()) < target and starting < 2:
                self.start_workload()
                starting += 1
            if self.rng.random() < dt * self.a.client_kill_rate:
                self.kill_client()
            if self.rng.random() < dt * self.a.server_kill_rate:
                self.kill_server()
            if self.rng.random() < dt * self.a.machd_kill_rate and now - last_machd_kill > 15:
                last_machd_kill = now
                if not self.kill_machd():
                    return
            time.sleep(tick)
        self.finish()

    def observe(self, now):
        """One look at everything: machd alive (False if it crashed), the
        workloads moved on, the hung tasks found."""
        if not self.check_machd():
            return False
        refresh_groups()
        for w in self.live_workloads():
            self.advance(w, now)
        self.check_hangs(now)
        return True

    def finish(self):
        """No new workloads: the running ones finish (or hit their deadlines),
        the servers and pagers stop, then machd's holdings are compared."""
        self.log("the %.1f minute(s) are up: letting the workloads finish", self.a.minutes)
        print("chaos: time is up; waiting for %d running workload(s)" % len(self.live_workloads()), flush=True)
        limit = time.monotonic() + CLIENT_DEADLINE + READY_TIMEOUT + 2 * SERVER_STOP_BOUND + 10
        while (self.live_workloads() or self.orphans) and time.monotonic() < limit:
            if not self.observe(time.monotonic()):
                return
            time.sleep(0.2)
        for w in self.live_workloads():
            self.fail("w%d %s did not finish (state %s): %s" % (w.wid, w.kind, w.state,
                                                                  [(p.label, p.pid, p.status) for p in w.procs]))
            for p in w.procs:
                for m in p.members():
                    try:
                        os.kill(m, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        dp = self.default_pager
        if dp is not None and dp.poll() is None:
            dp.p.terminate()
            try:
                dp.p.wait(SERVER_STOP_BOUND)
            except subprocess.TimeoutExpired:
                self.fail("default-pager did not exit within %.0f s of SIGTERM" % SERVER_STOP_BOUND)
                dp.p.kill()
                dp.p.wait()
            if dp.p.returncode != 0:
                self.fail("default-pager exit status %s on SIGTERM: %s" % (dp.p.returncode, dp.output()))
        if not self.check_machd():
            return
        if self.machd.baseline is None and not self.take_baseline():  # time ran out right after a restart
            return
        self.check_leaks()
        self.stop_machd()

    def check_leaks(self):
        m = self.machd
        base = m.baseline
        keys = ["tasks", "ports", "port_sets", "entries", "messages", "ool_payloads", "waiters", "memfd_payloads",
                "vouchers", "voucher_values"]
        end = time.monotonic() + SETTLE_TIMEOUT
        while True:
            now_h = self.holdings()
            fds = self.settled_fds()
            if now_h is not None and all(now_h[k] == base["holdings"][k] for k in keys) and \
                    fds <= base["fds"] + FD_SLACK:
                break
            if time.monotonic() > end:
                break
            time.sleep(0.5)
        self.final = {"holdings": now_h, "fds": fds, "rss_kib": m.rss_kib(), "machctl": self.machctl_counters()}
        if now_h is None:
            self.fail("leak check: chaos_holdings failed at the end")
            return
        diff = {k: (base["holdings"][k], now_h[k]) for k in keys if now_h[k] != base["holdings"][k]}
        if diff:
            self.fail("leak check: machd (epoch %d) holds other than at its baseline %.0f s after the last "
                      "workload (baseline, now): %s" % (m.epoch, SETTLE_TIMEOUT, diff))
            self.describe_leftovers()
        if fds > base["fds"] + FD_SLACK:
            self.fail("leak check: machd has %d descriptors open, %d at its baseline: %s, at the baseline %s" %
                      (fds, base["fds"], self.fd_kinds(m.p.pid), base["fd_kinds"]))
        mc_base, mc_now = base["machctl"], self.final["machctl"]
        # machctl is a task with ports of its own while it asks, as at baseline.
        if mc_base and mc_now and mc_base != mc_now:
            self.fail("leak check: machctl stats (tasks, ports) %s at baseline, %s now" % (mc_base, mc_now))
        tasks = self.machctl_json("tasks")
        if tasks is not None:
            others = [t for t in tasks["tasks"] if t["pid"] != 0 and t["command"] != "machctl"]
            if others:
                self.fail("leak check: machd still lists tasks %s" % [(t["pid"], t["command"]) for t in others])

    def kernel_ports(self):
        """{name: (rights, object, kobject)} of machd's own task's space,
        machctl's own requests aside (its task port, its reply rights)."""
        doc = self.machctl_json("ports", "0")
        if doc is None:
            return None
        return {p["name"]: (p["rights"], p["object"], p["kobject"]) for p in doc["ports"]}

    def describe_leftovers(self):
        """What machd's own space holds now and did not at the baseline."""
        base, now = self.machd.baseline["kernel_ports"], self.kernel_ports()
        if base is None or now is None:
            return
        new = {n: v for n, v in now.items() if n not in base or base[n][0] != v[0]}
        gone = {n: v for n, v in base.items() if n not in now}
        self.fail("leak check: machd's own space (machctl ports 0) has, compared to its baseline, new or changed "
                  "names %s and lost names %s (machctl's own task port and reply rights show as well)" %
                  (new, gone))
        services = self.machctl_json("services")
        if services is not None and services["services"]:
            self.fail("leak check: services left: %s" % [(x["name"], x["pid"]) for x in services["services"]])

    def fd_kinds(self, pid):
        kinds = {}
        try:
            for fd in os.listdir("/proc/%d/fd" % pid):
                try:
                    t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                except OSError:
                    continue
                t = t.split(":")[0] if ":" in t and not t.startswith("/") else t
                kinds[t] = kinds.get(t, 0) + 1
        except OSError:
            pass
        return kinds

    def stop_machd(self):
        m = self.machd
        m.killed_by_us = True
        m.p.terminate()
        try:
            m.p.wait(10)
        except subprocess.TimeoutExpired:
            self.fail("machd did not exit within 10 s of SIGTERM")
            m.p.kill()
            m.p.wait()
            return
        if m.p.returncode != 0:
            self.fail("machd exited with status %d on SIGTERM; log:\n%s" % (m.p.returncode, self.tail(m.log_path)))
        self.stopped_cleanly = m.p.returncode == 0

    def cleanup(self):
        """Kills whatever is left (after a failure stopped the run early)."""
        refresh_groups()
        for w in self.workloads:
            for p in w.procs:
                if p.poll() is None:
                    p.p.kill()
                for mem in p.members():
                    try:
                        os.kill(mem, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                p.p.wait()
        for p in [self.default_pager] + getattr(self, "orphans", []):
            if p is not None and p.poll() is None:
                p.p.kill()
                p.p.wait()
        for m in self.epochs:
            if m.p.poll() is None:
                m.killed_by_us = True
                m.p.kill()
                m.p.wait()

    def summary(self):
        c = self.counts
        print("\nchaos summary (seed %d, %.1f minute(s)):" % (self.a.seed, self.a.minutes))
        print("  workloads: %d started, %d completed, %d disrupted (something in them or their machd was killed), "
              "%d failed" % (c["started"], c["completed"], c["disrupted"], c["failed"]))
        for kind in sorted(self.by_kind):
            k = self.by_kind[kind]
            print("    %-20s started %3d  ok %3d  disrupted %3d  failed %3d" % (kind, k["started"], k["ok"],
                                                                               k["disrupted"], k["failed"]))
        print("  kills: %d client processes, %d servers/pagers, %d machd; machd restarts %d; default-pager "
              "starts %d" % (c["client_kills"], c["server_kills"], c["machd_kills"], c["machd_restarts"],
                             c["default_pager_starts"]))
        print("  hung: %d" % c["hung"])
        self.log("%d ticks", self.ticks)
        if self.machd is not None and self.machd.baseline is not None and hasattr(self, "final"):
            b, f = self.machd.baseline, self.final
            keys = ["tasks", "ports", "port_sets", "entries", "messages", "ool_payloads", "memfd_payloads",
                    "vouchers"]
            if f["holdings"]:
                print("  machd epoch %d holdings (baseline -> end): %s" % (
                    self.machd.epoch, ", ".join("%s %d->%d" % (k, b["holdings"][k], f["holdings"][k])
                                                for k in keys)))
            print("  machd descriptors %d -> %d; RSS %d KiB -> %d KiB" % (b["fds"], f["fds"], b["rss_kib"],
                                                                         f["rss_kib"]))
            print("  leak check: %s" % ("FAILED" if any(x.startswith("leak check") for x in self.failures)
                                        else "ok"))
        if getattr(self, "stopped_cleanly", False):
            print("  machd exited 0 on SIGTERM")
        print("  log: %s" % os.path.join(self.tmp, "chaos.log"))
        if self.failures:
            print("chaos: FAILED (%d):" % len(self.failures))
            for f in self.failures:
                print("  - " + f.replace("\n", "\n    "))
        else:
            print("chaos: passed")


def main():
    ap = argparse.ArgumentParser(description="Kill tasks, pagers and machd at random under a mixed workload; "
                                             "check that nothing leaked and no task hung.")
    ap.add_argument("--build", default="build", help="the meson build directory (default: build)")
    ap.add_argument("--minutes", type=float, default=2.0, help="how long to run the chaos (default 2)")
    ap.add_argument("--seed", type=int, default=None, help="the random seed (default: from the clock; printed)")
    ap.add_argument("--min-live", type=int, default=8, help="fewest workloads running at once (default 8)")
    ap.add_argument("--max-live", type=int, default=16, help="most workloads running at once (default 16)")
    ap.add_argument("--client-kill-rate", type=float, default=0.5, help="client kills a second (default 0.5)")
    ap.add_argument("--server-kill-rate", type=float, default=0.15,
                    help="server and pager kills a second (default 0.15)")
    ap.add_argument("--machd-kill-rate", type=float, default=0.03,
                    help="machd kills a second, at most one every 15 s (default 0.03)")
    ap.add_argument("--kinds", default="", help="only these workloads (comma-separated: rpc, kv, "
                    "pass_receive_right, ool_transfer, dead_name, fault_repair, crash_reporter, mach_ps, "
                    "anon_fill, personalities, dp_object, file_pager, dsm)")
    ap.add_argument("--no-default-pager", action="store_true", help="run no default-pager (and no dp_object)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, outputs)")
    ap.add_argument("--verbose", action="store_true", help="print every event")
    a = ap.parse_args()
    if a.seed is None:
        a.seed = int(time.time() * 1000) % 1000000
    if a.min_live < 1 or a.max_live < a.min_live or a.minutes <= 0:
        ap.error("need 1 <= --min-live <= --max-live and --minutes > 0")
    paths = Paths(a.build)
    missing = paths.missing()
    if missing:
        print("chaos: missing programs (run: ninja -C %s): %s" % (a.build, " ".join(missing)), file=sys.stderr)
        return 2
    c = Chaos(a, paths)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    try:
        c.run()
    except KeyboardInterrupt:
        c.fail("interrupted")
    finally:
        c.cleanup()
    c.summary()
    if not a.keep and not c.failures:
        import shutil
        shutil.rmtree(c.tmp, ignore_errors=True)
    elif c.failures:
        print("chaos: outputs kept in %s" % c.tmp)
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
