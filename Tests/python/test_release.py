"""What ships to users, used where there is no Swift: the wheel (`pip wheel
python/sqlite-shards`) and the release archive (scripts/release). Run by
scripts/test-hosts in .venv-hosts (auditwheel, and .venv-hosts/wheelhouse with an apsw
wheel for the offline install):

    .venv-hosts/bin/python Tests/python/test_release.py

Builds both from the release library of this checkout, then checks:
  - the wheel is py3-none-manylinux_2_NN_<arch>, and auditwheel finds it consistent
    with that tag; it holds one library, shards.so, stripped, at most 8 MiB, built
    from this checkout's Sources/, importing no sqlite3_* symbol;
  - the archive is shards-<version>-<os>-<arch>.tar.gz holding shards.so alone, the
    same bytes as the wheel's; the versions agree with shards_version();
  - in a fresh venv, with Swift off PATH (and /opt/swift hidden when run as root),
    pip installs the wheel offline; load(conn) works in Python's sqlite3 and apsw,
    and `.load <dir>/shards` in the sqlite3 shell, for the wheel's library and the
    archive's (`.load ./shards` in its folder).
"""
import ctypes
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Tally  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.dirname(sys.executable)
WHEELHOUSE = os.path.join(ROOT, ".venv-hosts", "wheelhouse")
MAX_BYTES = 8 * 1024 * 1024
T = Tally()


def check(name, ok, detail=""):
    """A check; its detail is printed only when it fails."""
    return T.check(name, ok, "" if ok else detail)


# A user's machine without Swift: no /opt/swift on PATH, nothing else of this shell.
NO_SWIFT = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}
HIDE = ["unshare", "-m", "sh", "-c", 'mount -t tmpfs tmpfs /opt/swift && exec "$@"', "_"]
# Where root may make a mount namespace (not in a chroot, for one), /opt/swift is hidden too.
HIDE_SWIFT = (os.geteuid() == 0 and os.path.isdir("/opt/swift") and shutil.which("unshare") is not None
              and subprocess.run([*HIDE, "true"], capture_output=True).returncode == 0)


def without_swift(args, **kw):
    """Runs args with NO_SWIFT; as root, in a mount namespace where /opt/swift is an
    empty tmpfs, so not even an absolute path reaches the toolchain."""
    if HIDE_SWIFT:
        args = [*HIDE, *args]
    return subprocess.run(args, env=NO_SWIFT, capture_output=True, text=True, **kw)


def source_fingerprint():
    """FNV-1a 64 over Sources/ as the SourceStamp plugin computes it at build time
    (relative path, NUL, bytes, NUL, sorted by path)."""
    sources = os.path.join(ROOT, "Sources")
    files = sorted(os.path.relpath(os.path.join(d, f), sources) for d, _, fs in os.walk(sources) for f in fs)
    h = 0xCBF29CE484222325
    for name in files:
        with open(os.path.join(sources, name), "rb") as f:
            data = f.read()
        for b in name.encode() + b"\0" + data + b"\0":
            h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def stamp_of(path):
    fn = ctypes.CDLL(path).shards_source_stamp
    fn.restype = ctypes.c_char_p
    return fn().decode()


def shell(db, load, sql, cwd):
    """The sqlite3 shell without Swift: .load, then sql, on the database file db."""
    return without_swift(["sqlite3", db, f".load {load}", sql], cwd=cwd)


SHELL_SQL = ("create virtual table ev using shards(time = '$.ts', index = '$.type'); "
             "insert into ev(doc) values ('{\"ts\":\"2025-01-15T10:00:00Z\",\"type\":\"click\"}'), "
             "('{\"ts\":\"2025-02-15T10:00:00Z\",\"type\":\"view\"}'); "
             "select shards_version(), count(*), (select count(*) from shard_list('ev')) from ev;")

HOST_SCRIPT = r"""
import json, sqlite3, sys, apsw, sqlite_shards
out = {"path": sqlite_shards.loadable_path(), "version": sqlite_shards.__version__, "hosts": {}}
for name, conn in [("sqlite3", sqlite3.connect(":memory:", isolation_level=None)), ("apsw", apsw.Connection(":memory:"))]:
    try:
        sqlite_shards.load(conn)
        conn.execute("create virtual table ev using shards(time = '$.ts', max_rows = 2, index = '$.type')")
        for i in range(5):
            conn.execute("insert into ev(doc) values (?)", (json.dumps({"ts": 1736935200000 + i, "type": "t%d" % (i % 2)}),))
        out["hosts"][name] = list(list(conn.execute(
            "select shards_version(), count(*), sum(type = 't0'), (select count(*) from shard_list('ev')) from ev"))[0])
    except Exception as e:
        out["hosts"][name] = repr(e)
print(json.dumps(out))
"""


def build_wheel(out):
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
                        "-w", out, os.path.join(ROOT, "python", "sqlite-shards")], capture_output=True, text=True)
    check("pip wheel python/sqlite-shards builds it", r.returncode == 0, r.stderr[-2000:])
    return glob.glob(os.path.join(out, "*.whl"))


def wheel_checks(wheels, work):
    """Returns (the wheel, the path of its extracted shards.so)."""
    arch = sysconfig.get_platform().split("-", 1)[1]
    names = [os.path.basename(w) for w in wheels]
    m = re.fullmatch(rf"sqlite_shards-([0-9.]+)-py3-none-(manylinux_2_(\d+)_{arch})\.whl", names[0]) if len(names) == 1 else None
    check(f"one wheel, tagged py3-none-manylinux_2_NN_{arch}", m is not None, repr(names))
    if not m:
        return None, None
    wheel, tag = wheels[0], m.group(2)
    r = subprocess.run([os.path.join(BIN, "auditwheel"), "show", wheel], capture_output=True, text=True)
    said = re.search(r'consistent\s+with\s+the\s+following\s+platform\s+tag:\s+"([^"]+)"', r.stdout)
    check(f"auditwheel: consistent with {tag}", said is not None and said.group(1) == tag, (r.stdout + r.stderr)[-2000:])
    with zipfile.ZipFile(wheel) as z:
        files = z.namelist()
        libraries = [n for n in files if ".so" in n]
        check("it holds one library, sqlite_shards/shards.so, and the package",
              libraries == ["sqlite_shards/shards.so"] and "sqlite_shards/__init__.py" in files, repr(files))
        if libraries != ["sqlite_shards/shards.so"]:
            return wheel, None
        z.extract("sqlite_shards/shards.so", work)
    lib = os.path.join(work, "sqlite_shards", "shards.so")
    size = os.path.getsize(lib)
    check(f"its library is at most 8 MiB ({size / 2**20:.2f} MiB)", size <= MAX_BYTES, str(size))
    r = subprocess.run(["readelf", "-S", "-W", lib], capture_output=True, text=True)
    check("it is stripped (no .symtab, no .debug_* sections)",
          r.returncode == 0 and ".symtab" not in r.stdout and ".debug_" not in r.stdout, r.stdout[-1500:])
    r = subprocess.run(["nm", "-D", "--undefined-only", lib], capture_output=True, text=True)
    check("it imports no sqlite3_* or ZSTD_* symbol", r.returncode == 0 and "sqlite3_" not in r.stdout and "ZSTD" not in r.stdout)
    r = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True)
    check("it exports both entry points, sqlite3_shards_init and sqlite3_shardext_init",
          " sqlite3_shards_init" in r.stdout and " sqlite3_shardext_init" in r.stdout)
    fingerprint = f"{source_fingerprint():016x}"
    stamp = stamp_of(lib)
    check("it was built from this checkout's Sources/", stamp == fingerprint, f"library {stamp}, checkout {fingerprint}")
    return wheel, lib


def archive_checks(work, wheel_lib):
    """Returns the folder the archive was unpacked in."""
    r = subprocess.run([os.path.join(ROOT, "scripts", "release"), os.path.join(work, "dist")], capture_output=True, text=True)
    check("scripts/release makes the archive", r.returncode == 0, r.stderr[-2000:])
    archive = r.stdout.strip()
    version = subprocess.run(["sqlite3", ":memory:", f".load {wheel_lib[:-3]}", "select shards_version()"],
                             capture_output=True, text=True).stdout.strip()
    import sqlite_shards
    check(f"the package's version is the library's ({version})", version == sqlite_shards.__version__, sqlite_shards.__version__)
    arch = sysconfig.get_platform().split("-", 1)[1]
    expected = f"shards-{version}-linux-{arch}.tar.gz"
    check(f"it is named {expected}", os.path.basename(archive) == expected and os.path.isfile(archive), archive)
    if not os.path.isfile(archive):
        return None
    unpacked = os.path.join(work, "unpacked")
    with tarfile.open(archive) as tar:
        members = tar.getnames()
        check("it holds shards.so alone", members == ["shards.so"], repr(members))
        tar.extractall(unpacked)
    same = open(os.path.join(unpacked, "shards.so"), "rb").read() == open(wheel_lib, "rb").read()
    check("its shards.so is the wheel's, byte for byte", same)
    return unpacked


def fresh_venv_checks(wheel, work):
    """The wheel in a fresh venv, offline, with Swift out of reach."""
    r = without_swift(["sh", "-c", "command -v swift; test -e /opt/swift/usr/bin/swift && echo toolchain; echo end"])
    expected = "end" if HIDE_SWIFT or not os.path.exists("/opt/swift/usr/bin/swift") else "toolchain\nend"
    check("without Swift: no swift on PATH" + (", /opt/swift hidden" if HIDE_SWIFT else " (/opt/swift not hidden: not root, or no mount namespace here)"),
          r.stdout.strip() == expected, r.stdout + r.stderr)
    venv = os.path.join(work, "fresh")
    r = without_swift(["/usr/bin/python3", "-m", "venv", venv])
    check("a fresh venv", r.returncode == 0, r.stderr[-1000:])
    pip = [os.path.join(venv, "bin", "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index"]
    r = without_swift([*pip, "--find-links", WHEELHOUSE, "apsw"])
    check("apsw from the wheelhouse (offline)", r.returncode == 0, (r.stdout + r.stderr)[-1000:] + "\n(scripts/test-hosts fills .venv-hosts/wheelhouse)")
    r = without_swift([*pip, wheel])
    check("pip installs the wheel offline, without Swift", r.returncode == 0, (r.stdout + r.stderr)[-2000:])
    r = without_swift([os.path.join(venv, "bin", "python"), "-c", HOST_SCRIPT], cwd=work)
    try:
        out = json.loads(r.stdout)
    except ValueError:
        check("the installed package loads", False, (r.stdout + r.stderr)[-2000:])
        return
    path = out["path"]
    check("loadable_path() is the installed shards.so, without its suffix",
          path.startswith(venv + "/") and path.endswith("/sqlite_shards/shards") and os.path.isfile(path + ".so"), path)
    for host in ("sqlite3", "apsw"):
        got = out["hosts"].get(host)
        check(f"without Swift, {host}: load(conn), then a collection works", got == [out["version"], 5, 3, 3], repr(got))
    r = subprocess.run(["ldd", path + ".so"], capture_output=True, text=True, env=NO_SWIFT)
    check("ldd: every dependency found, none in a Swift toolchain",
          r.returncode == 0 and "not found" not in r.stdout and "swift" not in r.stdout.lower(), r.stdout)
    r = shell(os.path.join(work, "wheel.db"), path, SHELL_SQL, cwd=work)
    check("without Swift, the sqlite3 shell: .load <venv>/sqlite_shards/shards",
          r.stdout.strip() == f"{out['version']}|2|2", r.stdout + r.stderr)


def shell_archive_checks(unpacked, work):
    r = shell(os.path.join(work, "archive.db"), "./shards", SHELL_SQL, cwd=unpacked)
    version = r.stdout.strip().split("|")[0]
    check("without Swift, the sqlite3 shell: .load ./shards from the unpacked archive",
          r.returncode == 0 and r.stdout.strip() == f"{version}|2|2" and version, r.stdout + r.stderr)


def main():
    with tempfile.TemporaryDirectory() as work:
        wheels = build_wheel(os.path.join(work, "wheels"))
        wheel, lib = wheel_checks(wheels, work)
        if wheel is None or lib is None:
            print(f"{T.passed} passed, {T.failed} failed")
            return 1
        unpacked = archive_checks(work, lib)
        fresh_venv_checks(wheel, work)
        if unpacked:
            shell_archive_checks(unpacked, work)
    print(f"{T.passed} passed, {T.failed} failed")
    return 1 if T.failed or not T.passed else 0


if __name__ == "__main__":
    sys.exit(main())
