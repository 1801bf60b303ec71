"""The README's function examples, run through the sqlite3 shell: each statement
in the Functions section followed by `-- result` lines must print exactly those
lines. Run from the repository root with any python3."""
import re
import subprocess
import sys
import tempfile

LIB = "./.build/release/libShardExt"


def examples(readme):
    section = readme.split("\n## Functions\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sql\n(.*?)```", section, re.S)
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


def main():
    setup, cases = examples(open("README.md").read())
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
            print(f"FAIL {sql!r}\n  expected {expected}\n  got      {got}")
    print(f"README examples: {passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
