#!/usr/bin/env bash
# packaging/test-service-inside.sh: the part of test-service.sh that runs as
# root in the booted Debian 12 container (systemd is PID 1), with the packages
# installed, a user "mach" and the examples in /payload/example. Checks the
# installed machd.socket and machd.service under mach's user manager; prints
# each step's time; exits non-zero at the first failed check.
set -euo pipefail
user=mach
uid=$(id -u "$user")
rt=/run/user/$uid
fail() { echo "inside: FAILED: $*" >&2; exit 1; }
step_start=0
step() { step_start=$SECONDS; echo "--- $1"; }
done_step() { echo "--- $1: $((SECONDS - step_start)) s"; }

# As the user, in its user manager's environment (no login session: lingering).
as_user() {
  runuser -u "$user" -- env -i PATH=/usr/bin:/bin HOME="/home/$user" LANG=C.UTF-8 \
    XDG_RUNTIME_DIR="$rt" DBUS_SESSION_BUS_ADDRESS="unix:path=$rt/bus" "$@"
}
ctl() { as_user systemctl --user "$@"; }
prop() { ctl show machd.service -p "$1" --value; }
journal() { as_user journalctl --user --no-pager -o cat -u machd "$@"; }

step "loginctl enable-linger $user: its user manager starts"
loginctl enable-linger "$user"
for _ in $(seq 100); do
  [ -S "$rt/bus" ] && [ "$(ctl is-system-running 2>/dev/null || true)" = running ] && break
  sleep 0.2
done
[ "$(ctl is-system-running 2>/dev/null || true)" = running ] || fail "user@$uid.service did not come up"
systemctl --no-pager status "user@$uid.service" | sed -n '1,4p'
done_step "linger"

step "systemctl --user enable --now machd.socket"
ctl enable --now machd.socket
ctl is-active -q machd.socket || fail "machd.socket is not active"
[ -S "$rt/machd.sock" ] || fail "no socket at $rt/machd.sock"
ctl is-active -q machd.service && fail "machd.service runs before any client connected"
ctl --no-pager status machd.socket | sed -n '1,6p'
done_step "socket"

work=/home/$user/t
install -d -o "$user" -g "$user" "$work"
install -o "$user" -g "$user" -m 644 /payload/example/* /usr/share/doc/mach-pager-test/example_pager.c "$work/"
build() {  # build OUT SRC PKG
  # shellcheck disable=SC2016
  as_user sh -c 'cd "$1" && cc -O2 -Wall -o "$2" "$3" $(pkg-config --cflags --libs "$4")' sh "$work" "$@" ||
    fail "cc $2"
}

step "dead_name without mach-run: socket activation of machd.service"
build dead_name dead_name.c mach-compat
as_user sh -c "cd $work && timeout 60 ./dead_name" > /tmp/dead_name.out 2>&1 ||
  { cat /tmp/dead_name.out; journal -n 20; fail "./dead_name"; }
sed 's/^/  /' /tmp/dead_name.out
grep -q '^dead_name watcher: MACH_NOTIFY_DEAD_NAME for 0x' /tmp/dead_name.out || fail "dead_name: no dead-name notification"
# Type=notify: active only once machd's READY=1 came through.
for _ in $(seq 50); do [ "$(prop ActiveState)" = active ] && break; sleep 0.2; done
[ "$(prop ActiveState)" = active ] ||
  { ctl --no-pager status machd.service || true; fail "machd.service is $(prop ActiveState)/$(prop SubState), not active (READY=1 lost?)"; }
main_pid=$(prop MainPID)
[ "$main_pid" -gt 0 ] || fail "machd.service has no main pid"
journal -g 'io_uring event loop' -q > /dev/null || fail "machd did not start its io_uring event loop"
echo "  machd.service active, main pid $main_pid, $(journal -g 'listening on' | tail -n 1)"
done_step "dead_name"

step "pagers: mach-pager-test on example_pager, against the service's machd"
build example_pager example_pager.c mach-pager
as_user sh -c "cd $work && timeout 300 mach-pager-test --socket $rt/machd.sock -- ./example_pager" \
  > /tmp/pager-test.out 2>&1 || { cat /tmp/pager-test.out; journal -n 20; fail "mach-pager-test"; }
grep -E '^  (PASS|FAIL|SKIP) |^RESULT' /tmp/pager-test.out | sed 's/^/  /'
grep -q '^RESULT: PASS' /tmp/pager-test.out || fail "mach-pager-test did not pass"
done_step "mach-pager-test"

step "pagers: file-pager and two pager_demo tasks sharing a file's pages"
build pager_demo pager_demo.c mach-compat
as_user "$work/pager_demo" --can-fault || fail "pager_demo --can-fault: this kernel cannot serve faults"
file=$work/demo.txt
printf '%s\n' "A file served by file-pager, mapped by two tasks." \
  "task A wrote: ............" "task B wrote: ............" > "$file"
chown "$user:" "$file"
off_a=$(( $(head -n 1 "$file" | wc -c) + 14 ))
off_b=$(( off_a + 27 ))
# shellcheck disable=SC2016
as_user sh -c 'echo $$ > /tmp/file-pager.pid; exec file-pager --name org.machd.test.file "$1"' sh "$file" \
  > /tmp/file-pager.out 2>&1 &
runuser_pid=$!
for _ in $(seq 100); do grep -q serving /tmp/file-pager.out 2>/dev/null && break; sleep 0.1; done
grep -q serving /tmp/file-pager.out || { cat /tmp/file-pager.out; fail "file-pager is not serving"; }
as_user timeout 30 "$work/pager_demo" org.machd.test.file write "$off_a" "hello from A" wait "$off_b" "hello from B" \
  > /tmp/task-a.out 2>&1 &
task_a=$!
as_user timeout 30 "$work/pager_demo" org.machd.test.file wait "$off_a" "hello from A" write "$off_b" "hello from B" \
  > /tmp/task-b.out 2>&1 &
task_b=$!
wait "$task_a" || { cat /tmp/task-a.out; fail "pager_demo (task A)"; }
wait "$task_b" || { cat /tmp/task-b.out; fail "pager_demo (task B)"; }
# On SIGTERM file-pager writes the modified pages back and exits 0.
kill -TERM "$(cat /tmp/file-pager.pid)"
rc=0
wait "$runuser_pid" || rc=$?
[ "$rc" = 0 ] || { cat /tmp/file-pager.out; fail "file-pager: exit status $rc"; }
sed 's/^/  | /' "$file"
grep -q 'task A wrote: hello from A' "$file" || fail "the file lacks task A's write"
grep -q 'task B wrote: hello from B' "$file" || fail "the file lacks task B's write"
done_step "file-pager"

step "crash_reporter: exception ports, mach_vm_read_overwrite of another task"
# The mach_exc server side from the installed mig and defs, as a macOS
# program makes it; frame pointers and -rdynamic for the backtrace.
# shellcheck disable=SC2016
as_user sh -c 'cd "$1" && defs=$(pkg-config --variable=defsdir mach-compat) &&
  mig -q -I"$defs" -server mach_excServer.c -sheader mach_excServer.h -user /dev/null -header /dev/null \
    "$defs/mach/mach_exc.defs" &&
  cc -O2 -Wall -fno-omit-frame-pointer -rdynamic -I. -o crash_reporter crash_reporter.c mach_excServer.c \
    $(pkg-config --cflags --libs mach-compat)' sh "$work" || fail "cc crash_reporter"
as_user sh -c "cd $work && timeout 60 ./crash_reporter" > /tmp/crash.out 2>&1 ||
  { cat /tmp/crash.out; fail "./crash_reporter"; }
sed 's/^/  /' /tmp/crash.out | head -n 20
grep -qi 'backtrace' /tmp/crash.out || fail "crash_reporter printed no backtrace"
done_step "crash_reporter"

step "one machd served it all: no restart, nothing denied"
[ "$(prop MainPID)" = "$main_pid" ] || fail "machd's main pid changed: $main_pid -> $(prop MainPID)"
[ "$(prop NRestarts)" = 0 ] || fail "machd.service restarted $(prop NRestarts) times"
if journal -g 'Operation not permitted|EPERM|seccomp' -q > /dev/null 2>&1; then
  journal -g 'Operation not permitted|EPERM|seccomp'
  fail "machd logged a denied operation"
fi
echo "  main pid $main_pid, 0 restarts, no EPERM in the journal"
done_step "no restart"

step "status line (STATUS=) in systemctl --user status machd.service"
sleep 3   # machd refreshes the line at most every 2 s
ctl --no-pager status machd.service > /tmp/status.out || true
sed -n '1,12p' /tmp/status.out | sed 's/^/  /'
grep -q "Status: \"listening on $rt/machd.sock, [0-9]* tasks\? connected\"" /tmp/status.out ||
  fail "no STATUS= line from machd"
done_step "status"

step "a warning in journalctl --user -u machd -p warning (a client with a bad hello)"
# shellcheck disable=SC2016
as_user perl -MSocket -e 'socket(my $s, AF_UNIX, SOCK_SEQPACKET, 0) or die "socket: $!";
  connect($s, pack_sockaddr_un($ARGV[0])) or die "connect: $!"; send($s, "not a hello", 0); sleep 1' "$rt/machd.sock"
for _ in $(seq 25); do journal -p warning -g 'refusing client' -q > /dev/null 2>&1 && break; sleep 0.2; done
journal -p warning -g 'refusing client' | sed 's/^/  /'
journal -p warning -g 'refusing client: bad hello' -q > /dev/null || fail "no warning in the journal"
# ...and the info-level lines are not warnings.
journal -p warning -g 'io_uring event loop' -q > /dev/null 2>&1 && fail "info-level lines logged as warnings"
done_step "warning"

step "watchdog: WatchdogSec=$(prop WatchdogUSec) passes with machd idle, pings arrive"
wd0=$(prop WatchdogTimestampMonotonic)
sleep 40
wd1=$(prop WatchdogTimestampMonotonic)
[ "$(prop ActiveState)" = active ] || fail "machd.service is $(prop ActiveState) after the watchdog period"
[ "$(prop MainPID)" = "$main_pid" ] || fail "machd was restarted (watchdog?)"
[ "$wd1" -gt "$wd0" ] || fail "no WATCHDOG=1 ping in 40 s ($wd0 -> $wd1)"
journal -g 'Watchdog timeout' -q > /dev/null 2>&1 && fail "the watchdog fired"
echo "  last ping moved from $wd0 to $wd1 (monotonic us); same pid, still active"
done_step "watchdog"

step "systemd-analyze security --user machd.service"
as_user systemd-analyze security --user --no-pager machd.service > /tmp/security.out 2>&1 || true
grep -E '✗|Overall' /tmp/security.out | sed 's/^/  /'
grep -q 'Overall exposure level for machd.service' /tmp/security.out || fail "systemd-analyze security gave no score"
done_step "security"

step "systemctl --user stop machd.service: clean shutdown, socket stays"
ctl stop machd.service 2>/dev/null
[ "$(prop Result)" = success ] || fail "machd.service stopped with result $(prop Result)"
journal -g 'shutting down' -q > /dev/null || fail "machd did not log its shutdown"
ctl is-active -q machd.socket || fail "machd.socket went with the service"
echo "  result $(prop Result), machd.socket $(ctl is-active machd.socket)"
done_step "stop"

echo "inside: ok"
