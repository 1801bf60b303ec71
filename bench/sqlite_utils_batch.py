"""Batch sizes for loading NDJSON into a collection from sqlite-utils: the plugin's
`shards-insert` at several --batch-size values, and sqlite-utils' own
`insert --nl --convert '{"doc": row}'` at its default (100) and at 10,000.
Each run loads the same file into a fresh database (monthly shards, two indexes).

    scripts/test-hosts   # once, makes .venv-hosts
    .venv-hosts/bin/python bench/sqlite_utils_batch.py --events 200000 --reps 3
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

BIN = os.path.dirname(sys.executable)
SU = os.path.join(BIN, "sqlite-utils")


def make_file(path, events):
    rng = random.Random(7)
    with open(path, "w") as f:
        for i in range(events):
            f.write(json.dumps({"ts": 1735689600000 + i * 60_000, "type": rng.choice(["click", "view", "buy"]),
                                "user": {"id": rng.randrange(1000)}, "path": f"/p/{rng.randrange(500)}",
                                "dur": rng.randrange(2000)}) + "\n")


def run(work, ndjson, label, command):
    db = os.path.join(work, "b.db")
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    subprocess.run([SU, "shards-create", db, "events", "--time", "$.ts", "--index", "$.type",
                    "--index", "user: $.user.id integer"], check=True)
    started = time.monotonic()
    subprocess.run([SU, *command(db, ndjson)], check=True, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    return label, seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=3, help="runs of each command; the fastest is reported")
    args = parser.parse_args()
    work = tempfile.mkdtemp()
    ndjson = os.path.join(work, "events.ndjson")
    make_file(ndjson, args.events)
    runs = [(f"shards-insert --batch-size {b}", lambda db, f, b=b: ["shards-insert", db, "events", f, "--nl", "-s",
                                                                   "--batch-size", str(b)])
            for b in (100, 1000, 10_000, 50_000)]
    runs += [("insert --nl --convert (default batch)", lambda db, f: ["insert", db, "events", f, "--nl", "--convert",
                                                                      '{"doc": row}'])]
    runs += [("insert --nl --convert --batch-size 10000", lambda db, f: ["insert", db, "events", f, "--nl",
                                                                         "--convert", '{"doc": row}',
                                                                         "--batch-size", "10000"])]
    print(f"{args.events:,} events, {os.path.getsize(ndjson) / 1e6:.1f} MB NDJSON, fastest of {args.reps}")
    print("| command | seconds | docs/s |\n|---|---|---|")
    for label, command in runs:
        seconds = min(run(work, ndjson, label, command)[1] for _ in range(args.reps))
        print(f"| {label} | {seconds:.2f} | {args.events / seconds:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
