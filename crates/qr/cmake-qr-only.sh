#!/bin/sh
# cmake as the `zxing-cpp` crate's build script runs it, restricted to what Cellproof uses.
#
# The crate's `bundled` build (build.rs) configures zxing-cpp's C++ library with every
# barcode format; it offers no switch for fewer. `.cargo/config.toml` sets CMAKE to this file,
# which the `cmake` crate runs instead of cmake: when the configure step is zxing-cpp's (its
# source folder `.../zxing-cpp-<version>/core`), the formats Cellproof never reads are switched
# off (the later -D wins). Only QR Code is compiled, which roughly halves the C++ build
# (docs/qr-decoder.md, "Build cost"). The writers stay: the crate's C API needs them.
# Any other cmake call passes through unchanged.
#
# With ccache installed (`cargo xtask` installs it with cmake and g++), the C++ compiler runs
# through it: `cargo clippy`, `cargo test` and `cargo doc` each build the library again in a
# build folder of their own (measured in `cargo xtask test`), and ccache makes the second and
# third of those near-free. The folder is left out of the hash (CCACHE_NOHASHDIR) and paths
# under the Cargo target folder are made relative (CCACHE_BASEDIR), so the three builds share
# their objects.
case "$PWD" in
  */build/zxing-cpp-*)
    export CCACHE_NOHASHDIR=true
    export CCACHE_BASEDIR="${PWD%%/build/zxing-cpp-*}"
    # zxing-cpp compiles with a precompiled header: without this, ccache refuses about half
    # of its files ("could not use precompiled header").
    export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime ;;
esac
for arg in "$@"; do
  case "$arg" in
    --build) exec cmake "$@" ;;
  esac
done
launcher=""
if command -v ccache >/dev/null 2>&1; then
  launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache"
fi
for arg in "$@"; do
  case "$arg" in
    */zxing-cpp-*/core)
      # shellcheck disable=SC2086 # $launcher is two words or none.
      exec cmake "$@" -DZXING_ENABLE_1D=OFF -DZXING_ENABLE_AZTEC=OFF \
        -DZXING_ENABLE_DATAMATRIX=OFF -DZXING_ENABLE_MAXICODE=OFF -DZXING_ENABLE_PDF417=OFF \
        $launcher ;;
  esac
done
exec cmake "$@"
