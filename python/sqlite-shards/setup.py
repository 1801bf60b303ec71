"""Builds the sqlite-shards wheel: the package and the release library of the
repository this directory sits in, stripped, as sqlite_shards/shards.so (entry point
sqlite3_shards_init, so `.load <dir>/shards` works).

Where the library comes from (docs/packaging.md):
  - SHARDS_LIBRARY=/path/to/libShardExt.so: that file;
  - else, with Swift (`swift` on PATH or /opt/swift/usr/bin): `swift build -c release`
    at the repository root, then .build/release/libShardExt.so;
  - else .build/release/libShardExt.so as it is (built before, elsewhere).

The library does not use Python's ABI, so the wheel is py3-none; its platform tag is
manylinux_2_NN_x86_64, NN read from the newest glibc symbol version the library needs
(auditwheel agrees: Tests/python/test_release.py)."""
import os
import shutil
import struct
import subprocess
import sysconfig
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
ROOT = Path(os.environ.get("SHARDS_ROOT", HERE.parent.parent))
BUILT = ROOT / ".build" / "release" / "libShardExt.so"
SHIPPED = "shards.so"
TOOLCHAIN = Path("/opt/swift/usr/bin")


def swift_tool():
    """`swift` on PATH, or in /opt/swift/usr/bin (where the toolchain's tarball is often unpacked)."""
    return shutil.which("swift") or (str(TOOLCHAIN / "swift") if (TOOLCHAIN / "swift").exists() else None)


def release_library():
    """The release library to ship: SHARDS_LIBRARY, or a fresh build, or the one built before."""
    if os.environ.get("SHARDS_LIBRARY"):
        library = Path(os.environ["SHARDS_LIBRARY"])
        if not library.is_file():
            raise SystemExit(f"sqlite-shards: SHARDS_LIBRARY={library} is not a file")
        return library
    if not (ROOT / "Package.swift").exists():
        raise SystemExit(f"sqlite-shards: {ROOT} is not the shards repository (no Package.swift); "
                         "set SHARDS_ROOT, or SHARDS_LIBRARY to a built libShardExt.so")
    swift = swift_tool()
    if swift:
        subprocess.run([swift, "build", "-c", "release"], cwd=ROOT, check=True)
    elif not BUILT.is_file():
        raise SystemExit("sqlite-shards: building the wheel needs Swift 6 (`swift` on PATH) to run "
                         f"`swift build -c release`, or a library built before at {BUILT}")
    return BUILT


def strip(source, target):
    """`strip --strip-unneeded`: the symbols and debug info the loader does not need
    (about 45% of the file). The release archive (scripts/release) strips the same way,
    so both ship the same bytes."""
    strip_tool = shutil.which("strip")
    if not strip_tool:
        raise SystemExit("sqlite-shards: building the wheel needs `strip` (Debian: apt-get install binutils)")
    subprocess.run([strip_tool, "--strip-unneeded", "-o", str(target), str(source)], check=True)


def glibc_needed(path):
    """The newest GLIBC_2.N symbol version an x86-64 ELF library needs, as (2, N): read
    from its version-needs section (SHT_GNU_verneed), as the dynamic loader reads it."""
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise SystemExit(f"sqlite-shards: {path} is not a 64-bit little-endian ELF library")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    newest = (2, 0)
    for _, kind, _, _, offset, _, link, count, _, _ in sections:
        if kind != 0x6FFFFFFE:  # SHT_GNU_verneed; sh_info (count) is its number of entries
            continue
        strings = sections[link][4]
        name = lambda at: data[strings + at:data.index(b"\0", strings + at)].decode()
        entry = offset
        for _ in range(count):
            _, aux_count, _, aux, following = struct.unpack_from("<HHIII", data, entry)
            at = entry + aux
            for _ in range(aux_count):
                _, _, _, name_at, aux_next = struct.unpack_from("<IHHII", data, at)
                version = name(name_at)
                if version.startswith("GLIBC_2."):
                    newest = max(newest, tuple(int(x) for x in version[len("GLIBC_"):].split(".")[:2]))
                at += aux_next
            entry += following
    if newest == (2, 0):
        raise SystemExit(f"sqlite-shards: {path} names no GLIBC_2.* version, so no manylinux tag can be chosen")
    return newest


class BuildWithLibrary(build_py):
    """build_py, then the release library stripped into the package as shards.so."""

    def run(self):
        library = release_library()
        super().run()
        target = Path(self.build_lib) / "sqlite_shards"
        target.mkdir(parents=True, exist_ok=True)
        for stale in target.glob("*.so"):  # build/ outlives a build: e.g. an older libShardExt.so
            stale.unlink()
        strip(library, target / SHIPPED)


class NativeDistribution(Distribution):
    """Holds a native library: installed into platlib, in a platform wheel."""

    def has_ext_modules(self):
        return True


class ManylinuxWheel(bdist_wheel):
    """py3-none-manylinux_2_NN_<arch>: any Python 3 (the library does not use Python's
    ABI), any Linux with glibc 2.NN or newer (the newest glibc version it needs)."""

    def get_tag(self):
        platform = sysconfig.get_platform()  # linux-x86_64
        if not platform.startswith("linux-"):
            raise SystemExit(f"sqlite-shards: the wheel is built on Linux only, not {platform}")
        arch = platform.split("-", 1)[1]
        library = Path(self.bdist_dir) / "sqlite_shards" / SHIPPED
        major, minor = glibc_needed(library)
        return ("py3", "none", f"manylinux_{major}_{minor}_{arch}")


setup(distclass=NativeDistribution, cmdclass={"build_py": BuildWithLibrary, "bdist_wheel": ManylinuxWheel})
