#!/usr/bin/env bash
# tests/cmake/run.sh: the CMake package (packaging/cmake/) works from an
# install. Installs the meson build into a scratch DESTDIR, configures this
# directory's CMake project against it (find_package(MachCompat)), builds it
# (stubs from greet.defs by mach_compat_mig(), links with the imported
# targets), then runs the two programs (neither needs a machd).
#
# usage: run.sh BUILD_DIR CMAKE [MESON]
#   CMAKE empty: exits 77 (meson's "skipped") saying that cmake was not found.
set -euo pipefail
build_dir=$1
cmake=${2:-}
meson=${3:-meson}
here=$(cd "$(dirname "$0")" && pwd)

if [ -z "$cmake" ]; then
  echo "cmake-package: SKIPPED: cmake was not found when the build was configured (apt-get install cmake, then reconfigure)"
  exit 77
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# The install prefix and libdir of this build, as meson recorded them.
option() {
  "$meson" introspect "$build_dir" --buildoptions |
    python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]))' "$1"
}
prefix=$(option prefix)
libdir=$(option libdir)
case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac

"$meson" install -C "$build_dir" --no-rebuild --destdir "$scratch/dest" >"$scratch/install.log" 2>&1 ||
  { cat "$scratch/install.log"; exit 1; }

"$cmake" -S "$here" -B "$scratch/build" -DCMAKE_PREFIX_PATH="$scratch/dest$prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
  -DCMAKE_FIND_USE_CMAKE_SYSTEM_PATH=OFF
"$cmake" --build "$scratch/build"

# The package found is the scratch install's, not one on the system.
grep -q "MachCompat_DIR:PATH=$scratch/dest$prefix/" "$scratch/build/CMakeCache.txt" ||
  { echo "cmake-package: MachCompat was not found under $scratch/dest$prefix"; grep MachCompat_DIR "$scratch/build/CMakeCache.txt"; exit 1; }

# Linked against the library's SONAME.
# (Outputs are taken whole before grep -q looks: with pipefail, a grep that
# stops at its first match can fail the pipeline by the writer's SIGPIPE.)
dynamic=$(readelf -d "$scratch/build/greet_check")
grep -q 'NEEDED.*\[libmach-compat\.so\.0\]' <<<"$dynamic" ||
  { echo "cmake-package: greet_check does not need libmach-compat.so.0"; readelf -d "$scratch/build/greet_check"; exit 1; }

# Run with the libraries of the install, not the build tree's that meson
# test puts on LD_LIBRARY_PATH. (The RUNPATH CMake sets covers only direct
# needs; libmach-pager's own need of libmach-compat is found through the
# library path, as in a system libdir.)
export LD_LIBRARY_PATH="$scratch/dest$libdir"
for prog in greet_check pager_link; do
  loaded=$(ldd "$scratch/build/$prog")
  grep -q "libmach-compat.so.0 => $scratch/dest$libdir/" <<<"$loaded" ||
    { echo "cmake-package: $prog does not load the installed libmach-compat"; ldd "$scratch/build/$prog"; exit 1; }
done
"$scratch/build/greet_check" | tee "$scratch/greet.out"
grep -qx 'greet-check: ok' "$scratch/greet.out"
"$scratch/build/pager_link" | tee "$scratch/pager.out"
grep -qx 'pager-link: ok' "$scratch/pager.out"
# Which requested versions the installed version file answers (this
# project is at 0.x: the same minor version, not newer than installed).
version_file="$scratch/dest$libdir/cmake/MachCompat/MachCompatConfigVersion.cmake"
cat > "$scratch/version.cmake" <<'CMAKE'
# cmake -DF=<version file> [-DW=<requested version>] -P version.cmake
# prints the installed version, or TRUE/FALSE: whether it answers W.
if(DEFINED W)
  set(PACKAGE_FIND_VERSION "${W}")
endif()
include("${F}")
if(NOT DEFINED W)
  message("${PACKAGE_VERSION}")
elseif(PACKAGE_VERSION_COMPATIBLE)
  message("TRUE")
else()
  message("FALSE")
endif()
CMAKE
installed=$("$cmake" -DF="$version_file" -P "$scratch/version.cmake" 2>&1)
IFS=. read -r major minor patch <<<"$installed"
answers() { "$cmake" -DF="$version_file" -DW="$1" -P "$scratch/version.cmake" 2>&1; }
for want in "$major.$minor" "$major.$minor.$patch" "$major"; do
  [ "$(answers "$want")" = TRUE ] || { echo "cmake-package: $installed refuses a request for $want"; exit 1; }
done
for want in "$major.$((minor + 1))" "$((major + 1)).0" "$major.$minor.$((patch + 1))"; do
  [ "$(answers "$want")" = FALSE ] || { echo "cmake-package: $installed accepts a request for $want"; exit 1; }
done
echo "cmake-package: version $installed answers $major.$minor, $installed and $major; not $major.$((minor + 1)), $((major + 1)).0 or $major.$minor.$((patch + 1))"

echo "cmake-package: ok"
