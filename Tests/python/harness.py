"""What the process-level tests share: the built library, a connection with it
loaded, children that run the same script, and the tally of checks."""
import os
import shutil
import signal
import subprocess
import sys
import time
import threading

import apsw

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LIB = os.path.join(ROOT, ".build", "release", "libShardExt")


def connect(path, busy_ms=10000):
    conn = apsw.Connection(path)
    conn.enable_load_extension(True)
    conn.load_extension(LIB)
    conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
    return conn


def spawn(script, args, stdin=False):
    """The test script itself in its child mode, its output piped back."""
    return subprocess.Popen([sys.executable, script, "--child", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, cwd=ROOT)


def kill_at_progress(conn, steps_every, kill_at):
    """SIGKILLs this process from an SQLite progress handler (called every steps_every
    VM steps) at call number kill_at (0: never). Returns the call counter, [calls]."""
    calls = [0]

    def progress():
        calls[0] += 1
        if calls[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return False
    conn.set_progress_handler(progress, steps_every)
    return calls


def read_lines(pipe, sink, started=None):
    """Appends a child's output lines to `sink` as they come; sets `started` when the
    child prints "G" (it is about to act) and when its output ends."""
    buf = b""
    while True:
        chunk = os.read(pipe.fileno(), 65536)
        if not chunk:
            break
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            sink.append(line.decode())
            if started is not None and line == b"G":
                started.set()
    if started is not None:
        started.set()


class Tally:
    """One line per check, counted for the closing `N passed, M failed`."""

    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok    {name}" + (f"  ({detail})" if detail else ""))
        else:
            self.failed += 1
            print(f"FAIL  {name}" + (f": {detail}" if detail else ""))
        sys.stdout.flush()
        return ok

    def info(self, text):
        print(f"      {text}")
        sys.stdout.flush()


def copy_base(base, folder):
    """A fresh copy of the folder that holds the database `base` (with its archive
    files) in `folder`; returns the copy's path of the database."""
    os.makedirs(folder)
    for f in os.listdir(os.path.dirname(base)):
        shutil.copy(os.path.join(os.path.dirname(base), f), folder)
    return os.path.join(folder, os.path.basename(base))


def run_killed(script, args, delay=None, done_within=120, exit_within=60):
    """Runs `script args` as a child with stdin open and SIGKILLs it: `delay` seconds
    after it started, or (delay None) once it printed `D ` (its work done; the
    connection stays open, like a crash after it), exited on its own, or ran
    `done_within` seconds. Returns (output lines, returncode)."""
    p = spawn(script, args, stdin=True)
    lines, started = [], threading.Event()
    reader = threading.Thread(target=read_lines, args=(p.stdout, lines, started))
    reader.start()
    started.wait(60)
    if delay is not None:
        time.sleep(delay)
    else:
        deadline = time.time() + done_within
        while not any(l.startswith("D ") for l in lines) and time.time() < deadline and p.poll() is None:
            time.sleep(0.01)
    p.send_signal(signal.SIGKILL)
    p.wait(exit_within)
    reader.join()
    return lines, p.returncode
