#!/usr/bin/env bash
# examples/run-demo.sh [BUILD_DIR] — runs the examples against a private machd
# and says what each one shows. BUILD_DIR is the meson build directory
# (default: build). Exits non-zero if any example fails.
#
# The demo starts its own machd in the foreground on a socket in a fresh
# temporary directory (so it never touches a machd you already run), runs
# every program through the build tree's mach-run, and stops machd with
# SIGTERM at the end, checking that it shuts down cleanly.
set -uo pipefail

build="${1:-build}"
if [ ! -d "$build" ]; then
  echo "run-demo: no build directory '$build' (run: meson setup $build && ninja -C $build)" >&2
  exit 2
fi
build="$(cd "$build" && pwd)"
machd="$build/machd/machd"
mach_run="$build/libmach-compat/mach-run"
ex="$build/examples"
file_pager="$build/pagers/file-pager"
dsm_pager="$build/pagers/dsm-pager"
for f in "$machd" "$mach_run" "$ex/rpc_server" "$ex/rpc_client" "$ex/pass_receive_right" \
         "$ex/ool_transfer" "$ex/dead_name" "$ex/mach_ps" "$ex/pager_demo" "$file_pager" \
         "$ex/fs_personality" "$ex/sandbox_personality" "$ex/personalities" "$dsm_pager" "$ex/dsm_counters" \
         "$ex/net_echo" "$build/machd/netmsg/mach-netmsgd"; do
  if [ ! -x "$f" ]; then
    echo "run-demo: $f is missing (run: ninja -C $build)" >&2
    exit 2
  fi
done

tmp="$(mktemp -d "${TMPDIR:-/tmp}/machd-demo.XXXXXX")"
export MACHD_SOCKET="$tmp/machd.sock"
# mach-run starts a machd when none answers; here one always should, so make
# sure a failure shows up as an error instead of a second, unmanaged daemon.
export MACHD_BIN=/bin/false
machd_pid=""
server_pid=""
server2_pid=""
host_pids=()  # part 10: the second host's machd and every network server

cleanup() {
  for p in "${host_pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null
  [ -n "$server2_pid" ] && kill -9 "$server2_pid" 2>/dev/null
  if [ -n "$machd_pid" ] && kill -0 "$machd_pid" 2>/dev/null; then
    kill -9 "$machd_pid" 2>/dev/null
    wait "$machd_pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
note() { printf '   %s\n' "$@"; }

failed=()
# run NAME SECONDS CMD... — runs a step with a time limit and records failure.
run() {
  local name="$1" limit="$2"
  shift 2
  timeout --kill-after=5 "$limit" "$@"
  local rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "run-demo: $name: timed out after ${limit}s" >&2
    failed+=("$name")
  elif [ "$rc" -ne 0 ]; then
    echo "run-demo: $name: exit status $rc" >&2
    failed+=("$name")
  fi
  return 0
}

say "Starting a private machd"
"$machd" --foreground --socket "$MACHD_SOCKET" >"$tmp/machd.log" 2>&1 &
machd_pid=$!
for _ in $(seq 1 200); do
  grep -q "listening on" "$tmp/machd.log" 2>/dev/null && break
  kill -0 "$machd_pid" 2>/dev/null || break
  sleep 0.05
done
if ! grep -q "listening on" "$tmp/machd.log" 2>/dev/null; then
  echo "run-demo: machd did not start:" >&2
  cat "$tmp/machd.log" >&2
  exit 1
fi
note "machd (pid $machd_pid) listening on $MACHD_SOCKET"

# ---------------------------------------------------------------------------
say "1. RPC through the bootstrap name service (rpc_server, rpc_client)"
note "The server checks in a name and gets its port's receive right; the client" \
     "looks the name up, gets a send right, and makes 5 calls. Each request" \
     "carries a send-once right for the reply (MAKE_SEND_ONCE)."
service="org.machd.example.echo.$$"
timeout --kill-after=5 60 "$mach_run" "$ex/rpc_server" --count 5 --name "$service" \
  >"$tmp/server.out" 2>&1 &
server_pid=$!
run "rpc_client" 60 "$mach_run" "$ex/rpc_client" --count 5 --name "$service"
if wait "$server_pid"; then
  sed 's/^/   | /' "$tmp/server.out"
else
  rc=$?
  sed 's/^/   | /' "$tmp/server.out"
  echo "run-demo: rpc_server: exit status $rc" >&2
  failed+=("rpc_server")
fi
server_pid=""

# ---------------------------------------------------------------------------
say "2. Moving a receive right with its queued messages (pass_receive_right)"
note "A second process queues 3 messages on a new port, then sends the port's" \
     "receive right (MOVE_RECEIVE) to this one, and a 4th message after the" \
     "move. The receiver dequeues all 4, in order."
run "pass_receive_right" 60 "$mach_run" "$ex/pass_receive_right"

# ---------------------------------------------------------------------------
say "3. Out-of-line memory: 64 MiB moved, not copied (ool_transfer)"
note "The sender vm_allocate()s 64 MiB, fills it, and sends it out-of-line with" \
     "deallocate=TRUE; the pages leave the sender and are mapped in the receiver," \
     "which checks the checksum."
run "ool_transfer" 120 "$mach_run" "$ex/ool_transfer" --size 64M

# ---------------------------------------------------------------------------
say "4. A dead-name notification when a peer is killed (dead_name)"
note "The watcher holds a send right to a peer's port and asks for" \
     "MACH_NOTIFY_DEAD_NAME; then it kill -9s the peer and waits for the notice."
run "dead_name" 60 "$mach_run" "$ex/dead_name"

# ---------------------------------------------------------------------------
say "5. A typed C++ interface generated by our mig (kv_store/kv_server, kv_client)"
note "kv.defs is compiled with 'mig -cxx': the server implements one virtual" \
     "method per routine, the client calls methods that take spans and return" \
     "mig::Result<T>; a 1 MiB value travels out of line both ways."
kv_service="org.machd.example.kv.$$"
timeout --kill-after=5 60 "$mach_run" "$ex/kv_store/kv_server" "$kv_service" >"$tmp/kv.out" 2>&1 &
server_pid=$!
for _ in $(seq 100); do grep -q serving "$tmp/kv.out" 2>/dev/null && break; sleep 0.05; done
run "kv_client" 60 "$mach_run" "$ex/kv_store/kv_client" "$kv_service"
if wait "$server_pid"; then
  sed 's/^/   | /' "$tmp/kv.out"
else
  rc=$?
  sed 's/^/   | /' "$tmp/kv.out"
  echo "run-demo: kv_server: exit status $rc" >&2
  failed+=("kv_server")
fi
server_pid=""

# ---------------------------------------------------------------------------
say "6. A small ps / vmmap / sample for Mach tasks (mach_ps)"
note "task_for_pid on every process that is a Mach task (here: itself): task_info, then the threads with their" \
     "registers and the memory regions (a call machd does not answer yet" \
     "prints its error and the listing goes on)."
run "mach_ps" 60 "$mach_run" "$ex/mach_ps" -n 6

# ---------------------------------------------------------------------------
say "7. A file as a memory object, shared by two tasks (file-pager, pager_demo)"
note "file-pager serves a file as a memory object under a bootstrap name. Two" \
     "tasks map it with vm_map; machd asks the pager for the pages they touch" \
     "(memory_object_data_request) and both share its one copy, so task B sees" \
     "task A's write at once and A sees B's answer. When the last mapping goes," \
     "machd returns the modified pages and the pager writes them to the file."
if "$ex/pager_demo" --can-fault 2>"$tmp/can-fault.out"; then
  demo_file="$tmp/demo.txt"
  printf '%s\n' "A file served by file-pager, mapped by two tasks." \
    "task A wrote: ............" "task B wrote: ............" >"$demo_file"
  off_a=$(( $(head -n 1 "$demo_file" | wc -c) + 14 ))
  off_b=$(( off_a + 27 ))
  fp_name="org.machd.example.file.$$"
  "$mach_run" "$file_pager" --name "$fp_name" "$demo_file" >"$tmp/file-pager.out" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do grep -q serving "$tmp/file-pager.out" 2>/dev/null && break; sleep 0.05; done
  timeout --kill-after=5 30 "$mach_run" "$ex/pager_demo" "$fp_name" \
    write "$off_a" "hello from A" wait "$off_b" "hello from B" >"$tmp/task-a.out" 2>&1 &
  task_a=$!
  timeout --kill-after=5 30 "$mach_run" "$ex/pager_demo" "$fp_name" \
    wait "$off_a" "hello from A" write "$off_b" "hello from B" >"$tmp/task-b.out" 2>&1 &
  task_b=$!
  wait "$task_a" || failed+=("pager_demo (task A)")
  wait "$task_b" || failed+=("pager_demo (task B)")
  sed 's/^/   | task A: /' "$tmp/task-a.out"
  sed 's/^/   | task B: /' "$tmp/task-b.out"
  kill -TERM "$server_pid" 2>/dev/null
  if wait "$server_pid"; then
    sed 's/^/   | /' "$tmp/file-pager.out"
  else
    rc=$?
    sed 's/^/   | /' "$tmp/file-pager.out"
    echo "run-demo: file-pager: exit status $rc" >&2
    failed+=("file-pager")
  fi
  server_pid=""
  note "The file now:"
  sed 's/^/   | /' "$demo_file"
  if ! grep -q "task A wrote: hello from A" "$demo_file" || ! grep -q "task B wrote: hello from B" "$demo_file"; then
    echo "run-demo: the file does not hold both tasks' writes" >&2
    failed+=("file-pager (file content)")
  fi
else
  note "Skipped: $(cat "$tmp/can-fault.out"). machd routes page faults to pagers" \
       "through each task's userfaultfd, which this system (a container's seccomp" \
       "profile, most often) refuses."
fi

# ---------------------------------------------------------------------------
say "8. Faults as Mach exceptions (fault_repair, crash_reporter)"
note "A runtime's fault handler: a handler thread serves the task's EXC_BAD_ACCESS" \
     "port; each first touch of a page with no access faults, the handler maps the" \
     "page and answers KERN_SUCCESS, and the thread goes on."
run "fault_repair" 30 "$mach_run" "$ex/fault_repair" 32
note "A crash reporter in another task: it sets a target's exception port through" \
     "task_for_pid, prints the crash's registers and a backtrace read with" \
     "mach_vm_read_overwrite, and answers KERN_FAILURE: the target dies of SIGSEGV."
run "crash_reporter" 30 "$mach_run" "$ex/crash_reporter"
note "The same reporter as macOS's: it takes only EXC_CORPSE_NOTIFY. The target dies" \
     "at once; its corpse (its memory, its threads and its crash information, kept by" \
     "machd) comes after."
run "crash_reporter --corpse" 30 "$mach_run" "$ex/crash_reporter" --corpse

# ---------------------------------------------------------------------------
say "9. Two personalities at once (fs_personality, sandbox_personality, personalities)"
note "Two emulation servers, ordinary Mach tasks: fs_personality holds a file tree" \
     "in its memory and answers open/read/write/stat/getdents64; sandbox_personality" \
     "answers uname() as System V and refuses network calls with EACCES." \
     "personalities forks three copies of one workload that run at the same time:" \
     "one plain, one whose emulation vector sends its file calls to fs_personality," \
     "one whose vector sends uname and network calls to the sandbox (a redirected" \
     "call becomes an emulation_syscall message; the reply is its result)."
fs_name="org.machd.example.fs.$$"
sandbox_name="org.machd.example.sandbox.$$"
"$mach_run" "$ex/fs_personality" --name "$fs_name" >"$tmp/fs-personality.out" 2>&1 &
server_pid=$!
"$mach_run" "$ex/sandbox_personality" --name "$sandbox_name" >"$tmp/sandbox-personality.out" 2>&1 &
server2_pid=$!
for _ in $(seq 100); do
  grep -q serving "$tmp/fs-personality.out" 2>/dev/null && grep -q serving "$tmp/sandbox-personality.out" 2>/dev/null && break
  sleep 0.05
done
run "personalities" 30 "$mach_run" "$ex/personalities" "$fs_name" "$sandbox_name"
for pid_var in server_pid server2_pid; do
  if ! kill -0 "${!pid_var}" 2>/dev/null; then
    echo "run-demo: a personality server died during the demo" >&2
    failed+=("personality server")
  fi
  kill -TERM "${!pid_var}" 2>/dev/null
  wait "${!pid_var}" 2>/dev/null
done
server_pid=""
server2_pid=""
note "What the servers saw (the file server's log, then the sandbox's):"
sed 's/^/   | /' "$tmp/fs-personality.out" "$tmp/sandbox-personality.out"

# ---------------------------------------------------------------------------
say "10. A parallel program over one coherent object (dsm-pager, dsm_counters)"
note "dsm-pager serves one object to every kernel that maps it, one writer or many" \
     "readers per page (across hosts once ports cross them; here one machd)." \
     "Three dsm_counters processes map it, meet at a barrier in it, add to 32" \
     "shared counters with atomic adds and each checks the sums."
if "$ex/pager_demo" --can-fault 2>/dev/null; then
  dsm_name="org.machd.example.dsm.$$"
  "$mach_run" "$dsm_pager" --name "$dsm_name" >"$tmp/dsm-pager.out" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do grep -q serving "$tmp/dsm-pager.out" 2>/dev/null && break; sleep 0.05; done
  workers=()
  for w in 0 1 2; do
    timeout --kill-after=5 60 "$mach_run" "$ex/dsm_counters" "$dsm_name" "$w" 3 1000 >"$tmp/dsm-$w.out" 2>&1 &
    workers+=($!)
  done
  for w in 0 1 2; do
    wait "${workers[$w]}" || failed+=("dsm_counters (worker $w)")
    sed 's/^/   | /' "$tmp/dsm-$w.out"
  done
  kill -TERM "$server_pid" 2>/dev/null
  wait "$server_pid" || failed+=("dsm-pager")
  server_pid=""
  sed 's/^/   | /' "$tmp/dsm-pager.out"
else
  note "Skipped: this system refuses userfaultfd (see part 7)."
fi

# ---------------------------------------------------------------------------
say "11. Ports across hosts (mach-netmsgd, net_echo, dsm_counters)"
note "Two hosts on this machine: this machd is host a, a second machd is host b," \
     "each with mach-netmsgd, the network message server, joined over TCP on" \
     "127.0.0.1 (Cap'n Proto RPC). A server on a checks its port in with the" \
     "netname service; a client on b looks it up (netname_look_up(\"a\", ...))," \
     "gets a send right to a proxy port and calls it as a local port. The server's" \
     "trailer names the caller on b. Then b maps a file-pager object served on a:" \
     "its page faults travel to the pager on the other host. Last, part 10's" \
     "program across the two hosts: dsm-pager on a keeps both machds' copies of" \
     "each page coherent, one dsm_counters worker on each host."
netmsgd="$build/machd/netmsg/mach-netmsgd"
b_sock="$tmp/host-b.sock"
"$machd" --foreground --socket "$b_sock" >"$tmp/host-b.log" 2>&1 &
host_pids+=($!)
"$netmsgd" --host-name a --listen 127.0.0.1:0 --export "org.machd.example.remote-file.$$" \
  --export "org.machd.example.remote-dsm.$$" \
  >"$tmp/netmsgd-a.out" 2>"$tmp/netmsgd-a.log" &
host_pids+=($!)
a_port=""
for _ in $(seq 200); do
  a_port=$(sed -n 's/.*listening on .* (port \([0-9]*\)).*/\1/p' "$tmp/netmsgd-a.log" 2>/dev/null)
  [ -n "$a_port" ] && grep -q serving "$tmp/netmsgd-a.out" 2>/dev/null && break
  sleep 0.05
done
for _ in $(seq 200); do grep -q "listening on" "$tmp/host-b.log" 2>/dev/null && break; sleep 0.05; done
MACHD_SOCKET="$b_sock" "$netmsgd" --host-name b --listen 127.0.0.1:0 --peer "127.0.0.1:$a_port" \
  >"$tmp/netmsgd-b.out" 2>"$tmp/netmsgd-b.log" &
host_pids+=($!)
for _ in $(seq 200); do grep -q serving "$tmp/netmsgd-b.out" 2>/dev/null && break; sleep 0.05; done
note "host a's mach-netmsgd listens on 127.0.0.1:$a_port; host b's connects to it"
"$ex/net_echo" serve echo >"$tmp/net-echo-server.out" 2>&1 &
host_pids+=($!)
for _ in $(seq 100); do grep -q serving "$tmp/net-echo-server.out" 2>/dev/null && break; sleep 0.05; done
run "net_echo (b calls a)" 30 env MACHD_SOCKET="$b_sock" "$ex/net_echo" call a echo 5
sed 's/^/   | server on a: /' "$tmp/net-echo-server.out"
if "$ex/pager_demo" --can-fault 2>/dev/null; then
  remote_file="$tmp/remote.txt"
  printf '%s\n' "A file on host a, read on host b through a pager." >"$remote_file"
  rf_name="org.machd.example.remote-file.$$"
  "$file_pager" --name "$rf_name" "$remote_file" >"$tmp/remote-pager.out" 2>&1 &
  host_pids+=($!)
  for _ in $(seq 100); do grep -q serving "$tmp/remote-pager.out" 2>/dev/null && break; sleep 0.05; done
  MACHD_SOCKET="$b_sock" "$ex/net_echo" relay a "$rf_name" remote-file >"$tmp/relay.out" 2>&1 &
  host_pids+=($!)
  for _ in $(seq 100); do grep -q "checked in" "$tmp/relay.out" 2>/dev/null && break; sleep 0.05; done
  run "pager_demo (b maps a's object)" 30 env MACHD_SOCKET="$b_sock" "$ex/pager_demo" remote-file read 0 49
  rd_name="org.machd.example.remote-dsm.$$"
  "$dsm_pager" --name "$rd_name" >"$tmp/remote-dsm.out" 2>&1 &
  host_pids+=($!)
  for _ in $(seq 100); do grep -q serving "$tmp/remote-dsm.out" 2>/dev/null && break; sleep 0.05; done
  MACHD_SOCKET="$b_sock" "$ex/net_echo" relay a "$rd_name" remote-dsm >"$tmp/relay-dsm.out" 2>&1 &
  host_pids+=($!)
  for _ in $(seq 100); do grep -q "checked in" "$tmp/relay-dsm.out" 2>/dev/null && break; sleep 0.05; done
  timeout --kill-after=5 60 "$ex/dsm_counters" "$rd_name" 0 2 200 >"$tmp/dsm-a.out" 2>&1 &
  worker_a=$!
  timeout --kill-after=5 60 env MACHD_SOCKET="$b_sock" "$ex/dsm_counters" remote-dsm 1 2 200 >"$tmp/dsm-b.out" 2>&1 &
  worker_b=$!
  wait "$worker_a" || failed+=("dsm_counters (host a)")
  wait "$worker_b" || failed+=("dsm_counters (host b)")
  sed 's/^/   | host a: /' "$tmp/dsm-a.out"
  sed 's/^/   | host b: /' "$tmp/dsm-b.out"
fi
for p in "${host_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
for p in "${host_pids[@]}"; do wait "$p" 2>/dev/null; done
host_pids=()

# ---------------------------------------------------------------------------
say "Stopping machd"
if ! kill -0 "$machd_pid" 2>/dev/null; then
  echo "run-demo: machd died during the demo" >&2
  failed+=("machd")
  machd_pid=""
else
  kill -TERM "$machd_pid"
  for _ in $(seq 1 100); do
    kill -0 "$machd_pid" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$machd_pid" 2>/dev/null; then
    echo "run-demo: machd did not exit within 5 s of SIGTERM" >&2
    failed+=("machd-shutdown")
  else
    wait "$machd_pid"
    rc=$?
    machd_pid=""
    if [ "$rc" -ne 0 ]; then
      echo "run-demo: machd exited with status $rc" >&2
      failed+=("machd-shutdown")
    else
      note "machd shut down cleanly"
    fi
  fi
fi

if [ "${#failed[@]}" -ne 0 ]; then
  printf '\nrun-demo: FAILED: %s\n' "${failed[*]}" >&2
  echo "run-demo: last lines of the machd log:" >&2
  tail -n 30 "$tmp/machd.log" | sed 's/^/   | /' >&2
  exit 1
fi
printf '\nrun-demo: all examples passed\n'
