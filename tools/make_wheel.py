#!/usr/bin/env python3
"""Writes dist/ttu-VERSION-py3-none-PLATFORM.whl with the Python standard library alone
(no setuptools, no build, no network): the `ttu` binary as a script pip puts on PATH
(`ttu-VERSION.data/scripts/ttu`) and the pure-Python run-folder reader `ttu_run`.

Usage: tools/make_wheel.py --binary PATH [--out DIR]   (tools/build-wheel.sh calls it)

VERSION is ttu's own (`version:` in Sources/ttu/TTU.swift). PLATFORM follows from the
binary: one that links only the C and C++ runtimes (the static build of
tools/build-standalone.sh) is tagged manylinux_2_G_ARCH, with 2.G the newest glibc symbol
version it uses; one that loads any other shared library, such as the Swift runtime of a
plain `swift build`, runs only where that library is installed, so it gets the local tag
linux_ARCH and a warning.
"""

import argparse
import base64
import hashlib
import io
import os
import pathlib
import re
import subprocess
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
NAME = "ttu"


def die(msg):
    sys.exit("make_wheel: ERROR: " + msg)


def ttu_version():
    src = ROOT / "Sources/ttu/TTU.swift"
    m = re.search(r'version:\s*"([0-9][0-9A-Za-z.+-]*)"', src.read_text(encoding="utf-8"))
    if not m:
        die("no version: \"…\" in %s" % src)
    return m.group(1)


def elf_needed(binary):
    """The binary's NEEDED shared libraries (readelf), or None without readelf."""
    try:
        out = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


# What every glibc Linux has (the manylinux policies allow these and a few more).
BASE_LIBS = ("libc.so", "libm.so", "libstdc++.so", "libgcc_s.so", "libpthread.so", "libdl.so", "librt.so", "ld-linux")


def platform_tag(binary):
    """(tag, portable?, libraries beyond the base ones) for the binary, from its ELF header and NEEDED list."""
    data = binary.read_bytes()
    if data[:4] != b"\x7fELF":
        die("%s is not an ELF executable (a Linux binary is needed)" % binary)
    machine = int.from_bytes(data[18:20], "little")
    arch = {0x3E: "x86_64", 0xB7: "aarch64"}.get(machine) or die("unsupported ELF machine %#x" % machine)
    needed = elf_needed(binary)
    if needed is None:  # no binutils: the library names are in the dynamic string table
        needed = sorted({m.decode() for m in re.findall(rb"lib[A-Za-z0-9_+-]+\.so(?:\.[0-9]+)*", data)})
    extra = [n for n in needed if not n.startswith(BASE_LIBS)]
    if extra:
        return "linux_" + arch, False, extra
    glibc = [tuple(map(int, v.split(b"."))) for v in re.findall(rb"GLIBC_([0-9]+\.[0-9]+)(?![0-9.])", data)]
    major, minor = max(glibc) if glibc else (2, 17)
    return "manylinux_%d_%d_%s" % (major, minor, arch), True, needed


def record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", required=True, help="the ttu executable to ship")
    ap.add_argument("--out", default=str(ROOT / "dist"), help="output folder (default dist/)")
    a = ap.parse_args()
    binary = pathlib.Path(a.binary)
    if not binary.is_file() or not os.access(binary, os.X_OK):
        die("%s: no executable there" % binary)
    version = ttu_version()
    tag, portable, libs = platform_tag(binary)
    wheel_tag = "py3-none-" + tag
    dist_info = "%s-%s.dist-info" % (NAME, version)
    data_dir = "%s-%s.data" % (NAME, version)

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    metadata = "\n".join([
        "Metadata-Version: 2.1",
        "Name: " + NAME,
        "Version: " + version,
        "Summary: Calibrated lower bounds on time-to-unsafe-sampling: the ttu command line (standalone binary) "
        "and ttu_run, a reader of its run folders",
        "Requires-Python: >=3.8",
        "Provides-Extra: pandas",
        'Requires-Dist: pandas; extra == "pandas"',
        "Description-Content-Type: text/markdown",
        "",
        readme,
    ])
    wheel = "\n".join([
        "Wheel-Version: 1.0",
        "Generator: ttu tools/make_wheel.py",
        "Root-Is-Purelib: false",
        "Tag: " + wheel_tag,
        "",
    ])

    files = []  # (archive name, bytes, mode)
    for src in sorted((ROOT / "python/ttu_run").rglob("*.py")):
        files.append((src.relative_to(ROOT / "python").as_posix(), src.read_bytes(), 0o644))
    files.append(("%s/scripts/ttu" % data_dir, binary.read_bytes(), 0o755))
    files.append(("%s/METADATA" % dist_info, metadata.encode(), 0o644))
    files.append(("%s/WHEEL" % dist_info, wheel.encode(), 0o644))
    record = io.StringIO()
    for name, data, _ in files:
        record.write("%s,%s,%d\n" % (name, record_hash(data), len(data)))
    record.write("%s/RECORD,,\n" % dist_info)
    files.append(("%s/RECORD" % dist_info, record.getvalue().encode(), 0o644))

    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / ("%s-%s-%s.whl" % (NAME, version, wheel_tag))
    tmp = path.with_suffix(".whl.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for name, data, mode in files:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # reproducible
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    tmp.replace(path)
    print(path)
    size = path.stat().st_size / 1e6
    if portable:
        glibc, arch = ".".join(tag.split("_")[1:3]), tag.split("_", 3)[3]
        cxx = sorted({tuple(map(int, v.split(b"."))) for v in re.findall(rb"GLIBCXX_([0-9]+(?:\.[0-9]+)+)", binary.read_bytes())})
        print("make_wheel: %s (%.0f MB): for any %s Linux with glibc >= %s%s (the binary links only %s)"
              % (path.name, size, arch, glibc, " and libstdc++ >= GLIBCXX_" + ".".join(map(str, cxx[-1])) if cxx else "",
                 ", ".join(libs)), file=sys.stderr)
    else:
        print("make_wheel: WARNING: %s (%.0f MB) is for THIS machine only (tag %s): %s loads %s, which other "
              "machines may not have (the Swift runtime is in the Swift toolchain). For a wheel that installs "
              "anywhere, ship the static binary: tools/build-wheel.sh without --binary (tools/build-standalone.sh)"
              % (path.name, size, tag, binary, ", ".join(libs)), file=sys.stderr)


if __name__ == "__main__":
    main()
