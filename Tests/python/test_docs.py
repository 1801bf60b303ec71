"""The examples of the docs, so they cannot drift.

- Every page of docs/ that carries the marker line below: its `sql` blocks, through
  the sqlite3 shell, on a fresh database of its own. The first block sets up; each
  statement of the others followed by `-- result` lines must print exactly those
  lines (a statement with none must print nothing).
- The README's "Use it from" section: its `sh` and `python` blocks, in order, in one
  folder (Python and the sqlite-utils command from .venv-hosts, which
  scripts/test-hosts makes); `# result` lines after a block are what it must print.

Run from the repository root with any python3."""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HOSTS_BIN = os.path.join(ROOT, ".venv-hosts", "bin")

LIB = "./.build/release/libShardExt"
MARKER = "<!-- The sql examples of this page run in the tests (Tests/python/test_docs.py)"


def example_pages():
    """The pages of docs/ whose sql examples run, by the marker they carry."""
    pages = []
    for name in sorted(os.listdir(os.path.join(ROOT, "docs"))):
        path = os.path.join("docs", name)
        if name.endswith(".md") and MARKER in open(os.path.join(ROOT, path)).read():
            pages.append(path)
    return pages


def examples(page):
    blocks = re.findall(r"```sql\n(.*?)```", page, re.S)
    setup, cases = blocks[0], []
    for block in blocks[1:]:
        statement, expected = [], []
        for line in block.splitlines():
            if line.startswith("-- "):
                expected.append(line[3:])
                continue
            if expected:
                cases.append(("\n".join(statement), expected))
                statement, expected = [], []
            statement.append(line)
        if statement:
            cases.append(("\n".join(statement), expected))
    return setup, cases


def host_examples(readme):
    """(language, code, expected lines) of each runnable block of "Use it from"."""
    section = readme.split("\n## Use it from\n", 1)[1].split("\n## ", 1)[0]
    out = []
    for language, block in re.findall(r"```(sh|python)\n(.*?)```", section, re.S):
        lines = block.splitlines()
        n = len(lines)
        while n and lines[n - 1].startswith("# "):
            n -= 1
        out.append((language, "\n".join(lines[:n]), [line[2:] for line in lines[n:]]))
    return out


def run_host_examples(readme):
    """Returns (passed, failed)."""
    if not os.path.exists(os.path.join(HOSTS_BIN, "python")):
        print("FAIL the 'Use it from' examples need .venv-hosts: run scripts/test-hosts first")
        return 0, 1
    passed = failed = 0
    env = dict(os.environ, PATH=HOSTS_BIN + os.pathsep + os.environ.get("PATH", ""))
    with tempfile.TemporaryDirectory() as folder:
        os.symlink(os.path.join(ROOT, ".build"), os.path.join(folder, ".build"))
        for language, code, expected in host_examples(readme):
            command = ["bash", "-euo", "pipefail", "-c", code] if language == "sh" else [os.path.join(HOSTS_BIN, "python"), "-c", code]
            run = subprocess.run(command, cwd=folder, env=env, text=True, capture_output=True, timeout=300)
            printed = [line for line in run.stdout.splitlines() if line]   # sqlite-utils --convert prints an empty line
            if run.returncode == 0 and printed == expected:
                passed += 1
            else:
                failed += 1
                print(f"FAIL {language} example {code[:200]!r}\n  expected {expected}\n  got      {printed}\n  {run.stderr.strip()}")
    print(f"README 'Use it from' examples: {passed} passed, {failed} failed")
    return passed, failed


def run_page(path):
    """Runs the sql examples of one page; returns (passed, failed)."""
    setup, cases = examples(open(path).read())
    script = [f".load {LIB}", setup]
    for i, (sql, _) in enumerate(cases):
        script += [f".print @@{i}", sql]
    # A folder of its own: the examples write an archive file next to the database.
    with tempfile.TemporaryDirectory() as folder:
        run = subprocess.run(["sqlite3", folder + "/docs.db"], input="\n".join(script), text=True, capture_output=True)
    outputs = re.split(r"^@@\d+\n", run.stdout, flags=re.M)[1:]
    passed = failed = 0
    if run.stderr:
        print(run.stderr)
        failed += 1
    for (sql, expected), out in zip(cases, outputs + [""] * (len(cases) - len(outputs))):
        got = out.splitlines()
        if got == expected:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {path}: {sql!r}\n  expected {expected}\n  got      {got}")
    print(f"{path} examples: {passed} passed, {failed} failed")
    return passed, failed


def main():
    os.chdir(ROOT)
    passed = failed = 0
    for path in example_pages():
        p, f = run_page(path)
        passed, failed = passed + p, failed + f
    hosts_passed, hosts_failed = run_host_examples(open("README.md").read())
    return 1 if failed or hosts_failed or passed == 0 or hosts_passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
