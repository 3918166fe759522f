#!/usr/bin/env bash
# packaging/test-packages-inside.sh PHASE: the part of test-packages.sh that
# runs inside the fresh Debian 12 container, from /payload (the packages in
# /payload/debs, their names in /payload/packages, the test material).
#   install     apt-get install of every package, dependencies from Debian
#   use-purge   build and run against the installed packages, then purge them
#               and check that nothing of them is left
# Prints each step's time; exits non-zero at the first failed check.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
read -r -a packages < /payload/packages

fail() { echo "inside: FAILED: $*" >&2; exit 1; }
step_start=0
step() { step_start=$SECONDS; echo "--- $1"; }
done_step() { echo "--- $1: $((SECONDS - step_start)) s"; }

# The pids of running machd processes (minbase has no procps).
machd_pids() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(cat "$p/comm" 2>/dev/null)" = machd ] && echo "${p#/proc/}"
  done
  return 0
}

install_phase() {
  step "apt-get update"
  apt-get update -qq
  done_step "apt-get update"
  step "apt-get install ./*.deb"
  apt-get install -y -q --no-install-recommends /payload/debs/*.deb > /tmp/install.log 2>&1 ||
    { cat /tmp/install.log; fail "apt-get install"; }
  grep -E '^(Setting up|Unpacking) ' /tmp/install.log | sed 's/^/  /'
  for p in "${packages[@]}"; do
    [ "$(dpkg-query -W -f '${db:Status-Abbrev}' "$p")" = "ii " ] || fail "$p is not installed"
  done
  done_step "apt-get install ./*.deb"
}

use_phase() {
  mkdir -p /root/t && cd /root/t

  step "example: cc dead_name.c \$(pkg-config --cflags --libs mach-compat); mach-run ./dead_name"
  cp /payload/example/* .
  # shellcheck disable=SC2046
  cc -O2 -Wall -o dead_name dead_name.c $(pkg-config --cflags --libs mach-compat)
  # A private machd, started by mach-run, that exits 2 s after its last task.
  MACH_RUN_IDLE_EXIT=2 timeout 60 mach-run ./dead_name > dead_name.out 2>&1 ||
    { cat dead_name.out; fail "mach-run ./dead_name"; }
  sed 's/^/  /' dead_name.out
  grep -q '^dead_name watcher: MACH_NOTIFY_DEAD_NAME for 0x' dead_name.out ||
    fail "dead_name: no dead-name notification"
  grep -q '^dead_name watcher: 0x[0-9a-f]* is a dead name' dead_name.out ||
    fail "dead_name: the right did not turn into a dead name"
  done_step "example"

  step "mig on greet.defs (installed mig and defs), cc, run"
  mkdir -p mig && cd mig
  mig -q -I"$(pkg-config --variable=defsdir mach-compat)" -user greetUser.c -header greet.h \
    -server greetServer.c -sheader greetServer.h /payload/cmake/greet.defs
  # shellcheck disable=SC2046
  cc -O2 -Wall -I. -o greet_check /payload/cmake/greet_check.c greetUser.c greetServer.c \
    $(pkg-config --cflags --libs mach-compat)
  ./greet_check | tee greet.out
  grep -qx 'greet-check: ok' greet.out || fail "greet_check (mig)"
  cd ..
  done_step "mig"

  step "CMake: find_package(MachCompat), mach_compat_mig(), build, run"
  cmake -S /payload/cmake -B cmake-build > cmake.log 2>&1 && cmake --build cmake-build >> cmake.log 2>&1 ||
    { cat cmake.log; fail "the CMake project"; }
  grep -q 'MachCompat_DIR:PATH=/usr/lib/.*/cmake/MachCompat' cmake-build/CMakeCache.txt ||
    fail "MachCompat not found in /usr/lib/<triplet>/cmake"
  ./cmake-build/greet_check | tee cmake.out
  ./cmake-build/pager_link | tee -a cmake.out
  grep -qx 'greet-check: ok' cmake.out && grep -qx 'pager-link: ok' cmake.out || fail "the CMake project's programs"
  done_step "CMake"

  step "the private machd exits after its idle time"
  for _ in $(seq 1 30); do
    [ -z "$(machd_pids)" ] && break
    sleep 0.5
  done
  [ -z "$(machd_pids)" ] || fail "machd still running 15 s after its last task: $(machd_pids)"
  done_step "machd idle exit"
}

purge_phase() {
  step "apt-get purge"
  for p in "${packages[@]}"; do dpkg -L "$p"; done | sort -u > /root/files-before
  echo "  $(wc -l < /root/files-before) paths in the packages"
  apt-get purge -y -q "${packages[@]}" > /tmp/purge.log 2>&1 || { cat /tmp/purge.log; fail "apt-get purge"; }
  grep -E '^(Removing|Purging) ' /tmp/purge.log | sed 's/^/  /'
  done_step "apt-get purge"

  step "nothing left"
  local left=0
  for p in "${packages[@]}"; do
    if dpkg-query -W -f '${db:Status-Abbrev}\n' "$p" 2>/dev/null | grep -qv '^un'; then
      echo "  still known to dpkg: $p ($(dpkg-query -W -f '${db:Status-Abbrev}' "$p"))"; left=1
    fi
  done
  # Every path the packages had is gone, except directories that other
  # packages own (/usr/bin, /usr/include, ...).
  while IFS= read -r path; do
    [ "$path" = "/." ] && continue    # dpkg -L lists the root first
    [ -e "$path" ] || [ -L "$path" ] || continue
    if [ -d "$path" ] && [ ! -L "$path" ] && dpkg -S "$path" >/dev/null 2>&1; then continue; fi
    echo "  left: $path"; left=1
  done < /root/files-before
  # Nor anything else named after them (generated or moved files).
  find /usr /etc /var/lib/systemd /var/lib/dpkg/info \
    \( -name 'machd*' -o -name 'mach-run' -o -name 'mig' -o -name 'mig.*' -o -name '*mach-compat*' \
       -o -name '*mach-pager*' -o -name 'mach_pager*' -o -name 'MachCompat*' -o -name 'file-pager' \
       -o -name 'compress-pager' -o -name 'default-pager' -o -name 'dsm-pager' -o -name 'machctl' \) -print 2>/dev/null > /root/found || true
  if [ -s /root/found ]; then sed 's/^/  left: /' /root/found; left=1; fi
  if [ -n "$(machd_pids)" ]; then echo "  machd running: $(machd_pids)"; left=1; fi
  [ "$left" -eq 0 ] || fail "the purge left the above"
  echo "  none of ${packages[*]} known to dpkg, no file of theirs, no machd process"
  done_step "nothing left"
}

case ${1:-} in
  install) install_phase ;;
  use-purge) use_phase; purge_phase ;;
  *) echo "usage: $0 install|use-purge" >&2; exit 2 ;;
esac
