# packaging/test-common.sh: what test-packages.sh and test-service.sh share.
# Sourced, not run. The sourcing script sets `name` (its messages' prefix)
# and `tools` (what it needs besides debootstrap and tar) first.
#
# Gives: option parsing ([--worktree] [--debs DIR]: worktree, debs_in), the
# root and tool checks, the scratch directory (cache, work, root) removed at
# exit unless MACHD_PKGTEST_KEEP=1 (a script with more to undo defines
# before_cleanup), phase timing (begin, end, summary), and:
#   build_debs             the packages into $work/debs (or copied from --debs)
#   minbase_tarball        prints the cached bookworm minbase tarball's path,
#                          debootstrapping it once
#   copy_debs DIR          the packages without their -dbgsym companions
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
worktree=()
debs_in=""
while [ $# -gt 0 ]; do
  case $1 in
    --worktree) worktree=(--worktree) ;;
    --debs) debs_in=$(cd "$2" && pwd); shift ;;
    *) echo "usage: $0 [--worktree] [--debs DIR]" >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" -eq 0 ] || { echo "$name: run as root (debootstrap, the container)" >&2; exit 1; }
for tool in debootstrap tar $tools; do
  command -v "$tool" >/dev/null ||
    { echo "$name: $tool is missing (bash packaging/install-deps.sh --packaging)" >&2; exit 1; }
done

cache=${MACHD_PKGTEST_CACHE:-/var/cache/machd-pkgtest}
mkdir -p "$cache"
work=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")
root="$work/root"
before_cleanup() { :; }
cleanup() {
  before_cleanup
  if [ "${MACHD_PKGTEST_KEEP:-0}" = 1 ]; then
    echo "$name: kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

declare -a phase_names=() phase_secs=()
phase_start=0
begin() { echo "=== $1"; phase_start=$SECONDS; current=$1; }
end() {
  phase_names+=("$current")
  phase_secs+=($((SECONDS - phase_start)))
  echo "=== $current: $((SECONDS - phase_start)) s"
}
summary() {
  echo "$name: phase times"
  for i in "${!phase_names[@]}"; do
    printf '  %-10s %4d s\n' "${phase_names[$i]}" "${phase_secs[$i]}"
  done
  printf '  %-10s %4d s\n' total "$SECONDS"
}

build_debs() {
  if [ -n "$debs_in" ]; then
    mkdir -p "$work/debs"
    cp "$debs_in"/*.deb "$work/debs/"
    echo "$name: packages from $debs_in"
  else
    bash "$top/packaging/build-debs.sh" "${worktree[@]}" "$work/debs"
  fi
}

minbase_tarball() {
  local tarball="$cache/bookworm-minbase-build.tar"
  if [ ! -e "$tarball" ]; then
    echo "$name: debootstrap bookworm into the cache (once)" >&2
    rm -rf "$cache/rootfs.partial"
    debootstrap --variant=minbase --include=build-essential,pkg-config,cmake \
      bookworm "$cache/rootfs.partial" ${MACHD_PKGTEST_MIRROR:+"$MACHD_PKGTEST_MIRROR"} > "$cache/debootstrap.log" 2>&1 ||
      { tail -n 30 "$cache/debootstrap.log" >&2; return 1; }
    tar -C "$cache/rootfs.partial" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$cache/rootfs.partial"
  fi
  echo "$tarball"
}

copy_debs() {
  local d
  for d in "$work"/debs/*.deb; do
    case $(dpkg-deb -f "$d" Package) in *-dbgsym) ;; *) cp "$d" "$1/" ;; esac
  done
}
