"""A shards cluster of shards-node processes on loopback, for tests and benchmarks.

Every process it starts is remembered by pid and stopped by that pid (SIGTERM, or
SIGKILL when asked for a crash); `stop()` stops whatever is still running, and the
class is a context manager so a failing test stops them too.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dqlite_wire import Client, Connection, Error  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODE = os.path.join(ROOT, ".build", "release", "shards-node")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalCluster:
    def __init__(self, size=3, workdir=None):
        self.workdir = workdir or tempfile.mkdtemp(prefix="shards-cluster-")
        os.makedirs(self.workdir, exist_ok=True)
        self.addresses = {i: f"127.0.0.1:{free_port()}" for i in range(1, size + 1)}
        self.procs = {}
        self.offsets = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def log(self, i):
        with open(os.path.join(self.workdir, f"node{i}.log")) as f:
            return f.read()

    def start(self, i, wait=True):
        """Starts node i (1 bootstraps, the others join through node 1... or any)."""
        args = [NODE, "--id", str(i), "--address", self.addresses[i], "--dir", os.path.join(self.workdir, f"data{i}")]
        if i != 1:
            args += ["--join", ",".join(a for j, a in sorted(self.addresses.items()) if j != i)]
        path = os.path.join(self.workdir, f"node{i}.log")
        self.offsets[i] = os.path.getsize(path) if os.path.exists(path) else 0
        with open(path, "a") as log:
            self.procs[i] = subprocess.Popen(args, stdout=log, stderr=log)
        if wait:
            self.wait_started(i)

    def wait_started(self, i, timeout=60):
        """Until node i's log says it runs: started (node 1), or a voter, or
        running on its recorded membership (a restart that could not ask)."""
        deadline = time.time() + timeout
        signs = ("started at",) if i == 1 else ("voter", "running with the membership")
        while time.time() < deadline:
            if self.procs[i].poll() is not None:
                raise RuntimeError(f"node {i} exited with {self.procs[i].returncode}:\n{self.log(i)}")
            if any(s in self.log(i)[self.offsets[i]:] for s in signs):
                return
            time.sleep(0.05)
        raise TimeoutError(f"node {i} did not come up in {timeout} s:\n{self.log(i)}")

    def start_all(self):
        for i in sorted(self.addresses):
            self.start(i)

    def running(self):
        return [i for i, p in self.procs.items() if p.poll() is None]

    def kill(self, i):
        """A crash: SIGKILL by pid."""
        p = self.procs[i]
        os.kill(p.pid, signal.SIGKILL)
        p.wait(10)

    def terminate(self, i, timeout=20):
        """A clean stop: SIGTERM by pid; returns the exit code."""
        p = self.procs[i]
        os.kill(p.pid, signal.SIGTERM)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(10)
            raise

    def stop(self):
        for i, p in self.procs.items():
            if p.poll() is None:
                try:
                    self.terminate(i)
                except subprocess.TimeoutExpired:
                    pass

    def servers(self, only_running=True):
        ids = self.running() if only_running else sorted(self.addresses)
        return [self.addresses[i] for i in ids]

    def leader(self, timeout=30):
        """(id, address) of the leader the running nodes agree on."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for address in self.servers():
                try:
                    c = Connection(address, 2)
                    try:
                        found = c.leader()
                    finally:
                        c.close()
                except (OSError, Error):
                    continue
                if found and found[1] in self.servers():
                    return found
            time.sleep(0.1)
        raise TimeoutError("no leader among the running nodes")

    def client(self, timeout=30):
        """A client on the current leader, waiting for one to be elected."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                return Client(self.servers(), timeout=30)
            except (OSError, Error) as e:
                last = e
                time.sleep(0.1)
        raise TimeoutError(f"no leader to connect to: {last}")
