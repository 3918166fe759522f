#!/usr/bin/env bash
# examples/run-demo.sh [BUILD_DIR] — runs the four examples against a private
# machd and says what each one shows. BUILD_DIR is the meson build directory
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
for f in "$machd" "$mach_run" "$ex/rpc_server" "$ex/rpc_client" "$ex/pass_receive_right" \
         "$ex/ool_transfer" "$ex/dead_name"; do
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

cleanup() {
  [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null
  if [ -n "$machd_pid" ] && kill -0 "$machd_pid" 2>/dev/null; then
    kill -9 "$machd_pid" 2>/dev/null
    wait "$machd_pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
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
