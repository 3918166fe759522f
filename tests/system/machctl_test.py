#!/usr/bin/env python3
"""tests/system/machctl_test.py — machctl against a private machd with known
tasks and ports (machctl_fixture): the text tables against golden output
(pids, object ids and sizes normalised), every --json document against its
schema, usage errors exiting 2.

usage: machctl_test.py MACHD MACHCTL FIXTURE GOLDEN_DIR
       (UPDATE_GOLDEN=1 rewrites the golden files instead of comparing)
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

MACHD, MACHCTL, FIXTURE, GOLDEN = sys.argv[1:5]
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def machctl(env, *args, rc=0):
    p = subprocess.run([MACHCTL, *args], env=env, capture_output=True, text=True, timeout=30)
    check(p.returncode == rc, "machctl %s: exit %d (want %d), stderr: %s" % (" ".join(args), p.returncode, rc,
                                                                          p.stderr.strip()))
    return p.stdout


def normalise(text, pids):
    """Pids become their role, object ids O1, O2... in order of appearance,
    runs of blanks one space (widths follow the values)."""
    for pid, role in pids.items():
        text = re.sub(r"\b%d\b" % pid, role, text)
    objects = {}

    def obj(m):
        return objects.setdefault(m.group(0), "O%d" % (len(objects) + 1))

    # Object ids sit in the OBJECT column; names (also hex) are left alone.
    lines = []
    for line in text.splitlines():
        cols = line.split()
        if len(cols) >= 4 and re.fullmatch(r"0x[0-9a-f]{8}", cols[3]):
            cols[3] = obj(re.match(r".*", cols[3]))
        lines.append(" ".join(cols))
    return "\n".join(lines) + "\n"


def finish(tracer):
    """The output of a machctl trace once it stopped (killed after 30 s)."""
    try:
        out, _ = tracer.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        tracer.kill()
        out, _ = tracer.communicate()
    return out


def golden(name, text):
    path = os.path.join(GOLDEN, name)
    if UPDATE:
        with open(path, "w") as f:
            f.write(text)
        return
    want = open(path).read()
    check(text == want, "%s differs from golden:\n--- got\n%s--- want\n%s" % (name, text, want))


# ---- JSON schemas: {key: type} per object, lists as [element schema] --------
INT, STR, BOOL = int, str, bool
NULLABLE = lambda t: ("nullable", t)  # noqa: E731

SCHEMAS = {
    "tasks": {"tasks": [{"pid": INT, "command": STR, "uid": INT, "ports": INT, "threads": INT,
                         "resident_bytes": INT, "virtual_bytes": INT}]},
    "ports": {"pid": INT, "ports": [{"name": STR, "rights": [STR], "urefs": INT, "object": NULLABLE(STR),
                                     "queue": NULLABLE({"count": INT, "limit": INT, "seqno": INT,
                                                        "send_rights": INT, "send_once_rights": INT}),
                                     "notifications": [STR], "kobject": NULLABLE(STR),
                                     "receiver_pid": NULLABLE(INT), "senders": [{"pid": INT, "urefs": INT}],
                                     "members": NULLABLE(INT)}]},
    "services": {"services": [{"name": STR, "pid": INT, "state": STR, "object": STR}]},
    "graph": {"tasks": [{"pid": INT, "command": STR}],
              "edges": [{"from": INT, "to": INT, "ports": INT, "urefs": INT}]},
    "stats": {"counters": {"messages_sent": INT, "messages_received": INT, "kernel_rpcs": INT, "faults": INT,
                           "exceptions": INT, "tasks": INT, "ports": INT, "trace_dropped": INT},
              "ops": [{"op": INT, "name": STR, "count": INT, "buckets": [INT]}]},
}


def conforms(value, schema, where):
    if isinstance(schema, tuple):
        return value is None or conforms(value, schema[1], where)
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return fail_schema(where, "not an object")
        if set(value) != set(schema):
            return fail_schema(where, "keys %s, want %s" % (sorted(value), sorted(schema)))
        return all(conforms(value[k], s, where + "." + k) for k, s in schema.items())
    if isinstance(schema, list):
        if not isinstance(value, list):
            return fail_schema(where, "not an array")
        return all(conforms(v, schema[0], "%s[%d]" % (where, i)) for i, v in enumerate(value))
    if schema is INT and (isinstance(value, bool) or not isinstance(value, int)):
        return fail_schema(where, "not an integer")
    if schema is not INT and not isinstance(value, schema):
        return fail_schema(where, "not a %s" % schema.__name__)
    return True


def fail_schema(where, why):
    check(False, "JSON %s: %s" % (where, why))
    return False


def parse_json(env, *args):
    text = machctl(env, "--json", *args)
    try:
        doc = json.loads(text)
    except ValueError as e:
        check(False, "machctl --json %s: not JSON (%s): %r" % (" ".join(args), e, text[:200]))
        return None
    conforms(doc, SCHEMAS[args[0]], args[0])
    return doc


def main():
    tmp = tempfile.mkdtemp(prefix="machctl-test-")
    sock = os.path.join(tmp, "machd.sock")
    env = dict(os.environ, MACHD_SOCKET=sock)
    machd = subprocess.Popen([MACHD, "--foreground", "--socket", sock], env=env, stderr=subprocess.DEVNULL)
    procs = []
    try:
        for _ in range(200):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        name = "org.machd.test.machctl"
        server = subprocess.Popen([FIXTURE, "server", name], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        procs.append(server)
        check(server.stdout.readline().strip() == "ready", "fixture server ready")
        client = subprocess.Popen([FIXTURE, "client", name, "2"], env=env, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        procs.append(client)
        check(client.stdout.readline().strip() == "ready", "fixture client ready")
        pids = {server.pid: "SERVER", client.pid: "CLIENT"}

        # Usage: --help, --version, errors exit 2.
        check(machctl(env, "--help").startswith("usage: machctl"), "--help prints the usage")
        check(re.fullmatch(r"machctl \d+\.\d+\.\d+\n", machctl(env, "--version")) is not None, "--version")
        machctl(env, "--bogus", rc=2)
        machctl(env, "frobnicate", rc=2)
        machctl(env, "ports", rc=2)
        machctl(env, "ports", "12x", rc=2)
        machctl(env, "tasks", "extra", rc=2)
        machctl(env, rc=2)
        machctl(env, "ports", "999999999", rc=1)

        # Text tables.
        services = machctl(env, "services")
        golden("services.txt", normalise(services, pids))
        ports = machctl(env, "ports", str(server.pid))
        golden("ports-server.txt", normalise(ports, pids))
        ports = machctl(env, "ports", str(client.pid))
        golden("ports-client.txt", normalise(ports, pids))
        tasks = machctl(env, "tasks")
        rows = {int(l.split()[0]) if l.split()[0].isdigit() else 0: l.split() for l in tasks.splitlines()[1:]}
        check(tasks.splitlines()[0].split() == ["PID", "COMMAND", "UID", "PORTS", "THREADS", "RSS(KiB)", "VSZ(KiB)"],
              "tasks header")
        check(server.pid in rows and rows[server.pid][1] == "machctl_fixture", "tasks lists the server")
        check(client.pid in rows and rows[client.pid][1] == "machctl_fixture", "tasks lists the client")
        check(tasks.splitlines()[1].startswith("0(machd) "), "machd's kernel task comes first")
        graph = machctl(env, "graph")
        check(("p%d -> p%d [label=\"1 port\"];" % (client.pid, server.pid)) in graph,
              "graph: the client holds a send right to the server's port")
        check(graph.startswith("digraph machd {"), "graph is DOT")
        stats = machctl(env, "stats")
        check(re.search(r"^messages_sent\s+[1-9]", stats, re.M) is not None, "stats counts sent messages")

        # JSON documents.
        doc = parse_json(env, "ports", str(server.pid))
        if doc:
            recv = [p for p in doc["ports"] if "recv" in p["rights"] and p["queue"] and p["queue"]["limit"] == 3]
            check(len(recv) == 1, "one receive right with qlimit 3")
            if recv:
                check(recv[0]["queue"]["count"] == 2, "its queue holds the client's 2 messages")
                check(recv[0]["senders"] == [{"pid": 0, "urefs": 1}, {"pid": client.pid, "urefs": 1}],
                      "the client and machd's bootstrap registry hold send rights: %r" % recv[0]["senders"])
                check("no-senders" in recv[0]["notifications"], "its no-senders request shows")
        doc = parse_json(env, "services")
        if doc:
            by = {s["name"]: s for s in doc["services"]}
            check(by.get(name, {}).get("pid") == server.pid and by[name]["state"] == "active", "active service")
            check(by.get(name + ".ondemand", {}).get("state") == "on-demand", "on-demand service")
        doc = parse_json(env, "tasks")
        parse_json(env, "graph")
        doc = parse_json(env, "stats")
        if doc:
            check(any(o["name"] == "msg" and o["count"] > 0 and len(o["buckets"]) == 16 for o in doc["ops"]),
                  "stats has msg latencies")

        # Trace under load: 50 messages from a client to a sink, every one a
        # record with the right ends, id, size and result.
        sink = subprocess.Popen([FIXTURE, "sink", name + ".sink"], env=env, stdout=subprocess.PIPE, text=True)
        procs.append(sink)
        check(sink.stdout.readline().strip() == "ready", "fixture sink ready")
        tracer = subprocess.Popen([MACHCTL, "--json", "trace", "--id", "4242", "--count", "50"], env=env,
                                  stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)  # attached before the load starts
        load = subprocess.Popen([FIXTURE, "client", name + ".sink", "50"], env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        procs.append(load)
        check(load.stdout.readline().strip() == "ready", "load client done")
        out = finish(tracer)
        records = [json.loads(l) for l in out.splitlines() if l.strip()]
        check(len(records) == 50, "trace: 50 records (got %d)" % len(records))
        for r in records:
            ok = (r.get("sender_pid") == load.pid and r.get("receiver_pid") == sink.pid and r.get("msgh_id") == 4242
                  and r.get("size") == 28 and r.get("result") in ("ok", "blocked") and r.get("routine") is None)
            check(ok, "trace record %r" % r)
            if not ok:
                break
        # A slow tracer: its queue (1 record) fills while it is stopped; the
        # sends do not wait for it, and the first record after the loss says
        # how many were dropped. The stopped tracer was blocked receiving: it
        # takes the burst's first record, its queue the second, the other 18
        # are dropped; then one more message gets through.
        tracer = subprocess.Popen([MACHCTL, "--json", "trace", "--id", "4343", "--queue", "1", "--count", "3"],
                                  env=env, stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)
        os.kill(tracer.pid, signal.SIGSTOP)
        burst = subprocess.Popen([FIXTURE, "client", name + ".sink", "20", "4343"], env=env, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
        procs.append(burst)
        check(burst.stdout.readline().strip() == "ready", "burst sent while the tracer is stopped")
        os.kill(tracer.pid, signal.SIGCONT)
        time.sleep(0.5)
        last = subprocess.Popen([FIXTURE, "client", name + ".sink", "1", "4343"], env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        procs.append(last)
        check(last.stdout.readline().strip() == "ready", "one more message")
        out = finish(tracer)
        lines = [json.loads(l) for l in out.splitlines() if l.strip()]
        got = [l for l in lines if "sender_pid" in l]
        dropped = [l["dropped"] for l in lines if "dropped" in l]
        check(len(got) == 3 and got[-1]["sender_pid"] == last.pid and len(dropped) == 1
              and dropped[0] + len(got) - 1 == 20 and dropped[0] >= 18, "records dropped, then said: %r" % lines)
        stats = parse_json(env, "stats")
        check(stats is not None and dropped and stats["counters"]["trace_dropped"] >= dropped[0],
              "stats count the dropped records")

        # A message to machd itself names its MIG routine.
        tracer = subprocess.Popen([MACHCTL, "trace", "--id", "3223", "--count", "1"], env=env,
                                  stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)
        machctl(env, "ports", str(server.pid))  # task_for_pid + mach_port_space_info on the server's task
        out = finish(tracer)
        check("mach_port_space_info" in out, "trace names machd's routines: %r" % out)

        # Another user's machctl would get KERN_NO_ACCESS; as root the test
        # runs as machd's own uid, which is the allowed case checked above.
    finally:
        for p in procs:
            if p.stdin:
                p.stdin.close()
            else:
                p.kill()
            p.wait(timeout=10)
        machd.terminate()
        machd.wait(timeout=10)
    if failures:
        print("%d failure(s)" % len(failures), file=sys.stderr)
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
