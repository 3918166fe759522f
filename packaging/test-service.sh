#!/usr/bin/env bash
# packaging/test-service.sh: the machd systemd user units (machd.socket,
# machd.service, hardened) from the Debian packages, under a real systemd
# user manager in a booted Debian 12. Slow (a minute or more, plus the build),
# so not part of .ci/run.
#
#   1. build     packaging/build-debs.sh (git HEAD; --worktree: the working tree)
#   2. rootfs    the bookworm minbase tarball of test-packages.sh plus systemd,
#                systemd-sysv, dbus, dbus-user-session and libpam-systemd, made
#                once and kept as a second tarball in $MACHD_PKGTEST_CACHE
#   3. install   apt-get install ./*.deb, a user "mach" (not booted yet)
#   4. boot      systemd-nspawn --boot: systemd is the container's PID 1
#   5. verify    packaging/test-service-inside.sh, run in the booted container
#                through nsenter: lingering, the socket, socket activation by
#                a Mach program run without mach-run, pagers (userfaultfd),
#                a crash reporter (process_vm_readv), the status line, a
#                warning in the journal, the watchdog, systemd-analyze
#                security, a clean stop
#   6. poweroff  systemctl poweroff inside, the container exits
# Each phase prints how long it took. Exits 0 only when every check passed.
#
# usage: packaging/test-service.sh [--worktree] [--debs DIR]
#   --debs DIR   test the packages already in DIR instead of building them
# Environment:
#   MACHD_PKGTEST_CACHE  where the rootfs tarballs are kept
#                        (default /var/cache/machd-pkgtest)
#   MACHD_PKGTEST_KEEP=1 keep the scratch directory (root file system, logs)
#   MACHD_PKGTEST_MIRROR the mirror debootstrap uses (default: debootstrap's own)
# Runs as root, on a host where systemd-nspawn can boot a container
# (--register=no --keep-unit: the host's PID 1 need not be systemd).
set -euo pipefail

name=test-service
tools="systemd-nspawn nsenter ps"
source "$(dirname "$0")/test-common.sh"
machine="machd-svc-$$"
nspawn_pid=""
before_cleanup() {
  if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
    kill -TERM "$nspawn_pid" 2>/dev/null || true   # nspawn powers the container off
    for _ in $(seq 60); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$nspawn_pid" 2>/dev/null || true
  fi
  return 0
}

# A command in the not yet booted tree.
run_in_tree() {
  systemd-nspawn --register=no --keep-unit -q -D "$root" --setenv=LANG=C.UTF-8 \
    --setenv=DEBIAN_FRONTEND=noninteractive "$@"
}

# 1. build
begin build
build_debs
end

# 2. rootfs
begin rootfs
with_systemd="$cache/bookworm-systemd.tar"
if [ ! -e "$with_systemd" ]; then
  minbase=$(minbase_tarball)
  echo "test-service: add systemd to $minbase (once)"
  mkdir "$root"
  tar -C "$root" -xf "$minbase"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  run_in_tree /bin/sh -c 'apt-get update -qq && apt-get install -y -q --no-install-recommends \
      systemd systemd-sysv dbus dbus-user-session libpam-systemd procps > /tmp/systemd.log 2>&1 ||
      { tail -n 30 /tmp/systemd.log; exit 1; }; apt-get clean; rm -f /tmp/systemd.log'
  tar -C "$root" -cf "$with_systemd.tmp" .
  mv "$with_systemd.tmp" "$with_systemd"
else
  mkdir "$root"
  tar -C "$root" -xf "$with_systemd"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
echo "test-service: fresh root file system from $with_systemd"
end

# 3. install (before booting: apt and useradd need no running system)
begin install
payload="$root/payload"
mkdir -p "$payload/debs" "$payload/example"
copy_debs "$payload/debs"
cp "$top/examples/dead_name.c" "$top/examples/crash_reporter.c" "$top/examples/pager_demo.c" \
   "$top/examples/example_support.h" "$payload/example/"
cp "$top/packaging/test-service-inside.sh" "$payload/inside.sh"
run_in_tree /bin/sh -c 'apt-get update -qq &&
  apt-get install -y -q --no-install-recommends /payload/debs/*.deb > /tmp/install.log 2>&1 ||
  { cat /tmp/install.log; exit 1; }
  grep -E "^Setting up (machd|libmach|mig|mach-)" /tmp/install.log | sed "s/^/  /"
  useradd --create-home --shell /bin/bash mach && id mach'
end

# 4. boot
begin boot
systemd-nspawn --register=no --keep-unit --boot -D "$root" -M "$machine" --console=passive \
  > "$work/console.log" 2>&1 < /dev/null &
nspawn_pid=$!
init_pid=""
for _ in $(seq 100); do
  # (ps fails while nspawn has no child yet: not an error under pipefail)
  init_pid=$({ ps -o pid= --ppid "$nspawn_pid" || true; } | tr -d ' ' | head -n 1)
  [ -n "$init_pid" ] && [ "$(cat "/proc/$init_pid/comm" 2>/dev/null)" = systemd ] && break
  init_pid=""
  kill -0 "$nspawn_pid" 2>/dev/null || break
  sleep 0.2
done
if [ -z "$init_pid" ]; then
  cat "$work/console.log"
  echo "test-service: FAILED: the container did not boot with systemd as its PID 1" >&2
  exit 1
fi
# Inside the container: all of its namespaces, a clean environment.
inside() {
  nsenter -t "$init_pid" -a -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
}
state=""
for _ in $(seq 120); do
  state=$(inside systemctl is-system-running 2>/dev/null || true)
  case $state in running|degraded) break ;; esac
  sleep 0.5
done
echo "test-service: container $machine, PID 1 is host pid $init_pid; system $state"
case $state in
  running) ;;
  degraded) inside systemctl --failed --no-pager || true ;;
  *) tail -n 30 "$work/console.log"; echo "test-service: FAILED: the system did not come up ($state)" >&2; exit 1 ;;
esac
end

# 5. verify
begin verify
inside /bin/bash /payload/inside.sh
end

# 6. poweroff
begin poweroff
inside systemctl poweroff || true
for _ in $(seq 120); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$nspawn_pid" 2>/dev/null; then
  echo "test-service: FAILED: the container did not power off" >&2
  exit 1
fi
wait "$nspawn_pid" || true
nspawn_pid=""
end

summary
echo "test-service: ok"
