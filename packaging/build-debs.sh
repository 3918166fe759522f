#!/usr/bin/env bash
# packaging/build-debs.sh: builds the Debian binary packages of machd
# (packaging/debian/) and checks them with lintian.
#
# usage: packaging/build-debs.sh [--worktree] OUTDIR
#   Exports the tree at git HEAD (with --worktree: the working tree as it
#   is, tracked and untracked files that git does not ignore) into a scratch
#   directory, puts packaging/debian/ at its top as debian/, runs
#   dpkg-buildpackage -us -uc -b there, then lintian on the result. The
#   .deb, .ddeb, .changes and .buildinfo files land in OUTDIR, with
#   lintian.txt (every tag lintian gave, info included).
#
# Environment:
#   LINTIAN_FAIL_ON   lintian's --fail-on (default: error,warning)
#   DEB_BUILD_OPTIONS passed on (default: parallel=2)
#   KEEP_BUILD=1      keep the scratch directory (its path is printed)
# Needs: bash packaging/install-deps.sh --packaging
set -euo pipefail

worktree=0
if [ "${1:-}" = "--worktree" ]; then worktree=1; shift; fi
[ $# -eq 1 ] || { echo "usage: $0 [--worktree] OUTDIR" >&2; exit 2; }
mkdir -p "$1"
outdir=$(cd "$1" && pwd)

top=$(cd "$(dirname "$0")/.." && pwd)
for tool in git dpkg-buildpackage dh lintian; do
  command -v "$tool" >/dev/null ||
    { echo "build-debs: $tool is missing (bash packaging/install-deps.sh --packaging)" >&2; exit 1; }
done

# The package's version is the project's.
meson_version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$top/meson.build" | head -n1)
deb_version=$(dpkg-parsechangelog -l "$top/packaging/debian/changelog" -S Version)
if [ "$meson_version" != "$deb_version" ]; then
  echo "build-debs: packaging/debian/changelog is at $deb_version, meson.build at $meson_version:" \
       "add a changelog entry (dch -v $meson_version)" >&2
  exit 1
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/machd-debs.XXXXXX")
if [ "${KEEP_BUILD:-0}" = 1 ]; then
  echo "build-debs: scratch directory $scratch (kept)"
else
  trap 'rm -rf "$scratch"' EXIT
fi
src="$scratch/machd-$deb_version"
mkdir "$src"

if [ "$worktree" -eq 1 ]; then
  # Every file git tracks or would track, as it is on disk (deleted ones skipped).
  (cd "$top" && git ls-files -z --cached --others --exclude-standard |
     while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
     tar --null -T - -cf -) | tar -xf - -C "$src"
  echo "build-debs: working tree of $top"
else
  git -C "$top" archive --format=tar HEAD | tar -xf - -C "$src"
  echo "build-debs: $(git -C "$top" rev-parse --short HEAD) of $top"
fi
rm -rf "$src/debian"
cp -a "$src/packaging/debian" "$src/debian"

export DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=2}
(cd "$src" && dpkg-buildpackage -us -uc -b) > "$scratch/build.log" 2>&1 || {
  tail -n 60 "$scratch/build.log"
  echo "build-debs: dpkg-buildpackage failed (full log: $scratch/build.log)" >&2
  trap - EXIT
  exit 1
}

changes=$(cd "$scratch" && ls ./*.changes)
changes=${changes#./}
for f in "$scratch"/*.deb "$scratch"/*.ddeb "$scratch"/*.changes "$scratch"/*.buildinfo; do
  [ -e "$f" ] && mv -f "$f" "$outdir/"
done
cp "$scratch/build.log" "$outdir/build.log"

# lintian on the .changes: every binary package and the changes file.
status=0
lintian --display-info --fail-on "${LINTIAN_FAIL_ON:-error,warning}" \
  "$outdir/$changes" > "$outdir/lintian.txt" 2>&1 || status=$?
cat "$outdir/lintian.txt"
echo "build-debs: packages in $outdir:"
(cd "$outdir" && ls -1 ./*.deb | sed 's|^\./|  |')
if [ "$status" -ne 0 ]; then
  echo "build-debs: lintian failed on ${LINTIAN_FAIL_ON:-error,warning} tags (lintian.txt)" >&2
  exit "$status"
fi
echo "build-debs: lintian: no ${LINTIAN_FAIL_ON:-error,warning} tags"
