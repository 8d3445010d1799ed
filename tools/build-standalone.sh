#!/usr/bin/env bash
# Builds a standalone `ttu` into dist/ttu: the Swift runtime and Foundation linked in
# (--static-swift-stdlib), and SQLite and zlib too when the system has their static
# archives (Debian/Ubuntu: libsqlite3-dev, zlib1g-dev), so the binary needs only the C
# and C++ runtimes every glibc Linux has (libc, libm, libstdc++, libgcc_s). Without an
# archive it links that library dynamically, as any other program would.
# Usage: tools/build-standalone.sh [extra swift build flags]   (a first build takes 10-25 min)
set -euo pipefail
cd "$(dirname "$0")/.."

flags=(-c release --static-swift-stdlib --product ttu)
# A search directory holding only the static archives, searched before the system's:
# the linker then resolves GRDB's -lsqlite3 (and -lz) to them.
static_dir="$PWD/.build/static-libs"
mkdir -p "$static_dir"
for lib in libsqlite3.a libz.a; do
  for dir in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib; do
    if [ -f "$dir/$lib" ]; then ln -sf "$dir/$lib" "$static_dir/$lib"; break; fi
  done
done
flags+=(-Xswiftc "-L$static_dir")

swift build "${flags[@]}" "$@"
bin="$(swift build "${flags[@]}" "$@" --show-bin-path)"
mkdir -p dist
cp "$bin/ttu" dist/ttu
# Debug info is most of the file; the symbol table stays, so a crash still names functions.
if command -v strip >/dev/null; then strip --strip-debug dist/ttu; fi
echo "dist/ttu: $(du -h dist/ttu | cut -f1)" >&2
ldd dist/ttu >&2 || true
