"""Builds a platform wheel holding the release library of the repository this
directory sits in: `swift build -c release` at the repository root, then
.build/release/libShardExt.so copied into the package. The library does not depend
on Python's ABI, so the wheel is tagged py3-none-<platform>."""
import os
import shutil
import subprocess
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
ROOT = Path(os.environ.get("SHARDS_ROOT", HERE.parent.parent))
LIBRARY = "libShardExt.so"


def swift():
    found = shutil.which("swift") or ("/opt/swift/usr/bin/swift" if os.path.exists("/opt/swift/usr/bin/swift") else None)
    if not found:
        raise SystemExit("sqlite-shards: building the wheel needs Swift 6 (`swift` on PATH) to run `swift build -c release`")
    return found


class BuildWithLibrary(build_py):
    """build_py, then the release library built and copied beside __init__.py."""

    def run(self):
        if not (ROOT / "Package.swift").exists():
            raise SystemExit(f"sqlite-shards: {ROOT} is not the shards repository (no Package.swift); set SHARDS_ROOT")
        subprocess.run([swift(), "build", "-c", "release"], cwd=ROOT, check=True)
        super().run()
        target = Path(self.build_lib) / "sqlite_shards"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / ".build" / "release" / LIBRARY, target / LIBRARY)


class NativeDistribution(Distribution):
    """Holds a native library: installed into platlib, in a platform wheel."""

    def has_ext_modules(self):
        return True


class PlatformWheel(bdist_wheel):
    """A wheel for this platform, for any Python 3: the library does not use Python's ABI."""

    def get_tag(self):
        return ("py3", "none", super().get_tag()[2])


setup(distclass=NativeDistribution, cmdclass={"build_py": BuildWithLibrary, "bdist_wheel": PlatformWheel})
