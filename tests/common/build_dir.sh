# tests/common/build_dir.sh — sourced by the scripts that make a build
# directory of their own inside the build (tests/fuzz/run.sh,
# tests/sanitizers/run.sh).

# setup_build_dir DIR SRC CC CXX [meson option...]: configures DIR from SRC
# with those compilers, unless it already is (a half-made one is made again).
# On failure prints meson's output and exits 1.
setup_build_dir() {
  local dir=$1 src=$2 cc=$3 cxx=$4
  shift 4
  [ -f "$dir/build.ninja" ] && return 0
  rm -rf "$dir"
  CC=$cc CXX=$cxx meson setup "$dir" "$src" "$@" >"$dir.setup.log" 2>&1 ||
    { cat "$dir.setup.log" >&2; echo "${0##*/}: meson setup of $dir failed" >&2; exit 1; }
}
