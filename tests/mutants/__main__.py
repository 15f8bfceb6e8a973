"""Try the catalogue's guarantees by mutation: `python -m tests.mutants [GROUP ...]`.

Each mutant is written into its file in place (refused while that file has uncommitted
changes), its tests are run (`pytest -x`), and the file is written back whatever happens. One
line a mutant: `killed` (a test failed), `SURVIVED` (every test passed: a guarantee no test
holds), or `equivalent` (not run). The exit status is 1 if any mutant survived. A mutant takes
from seconds to two minutes: the tests are integration tests, on the real broker and database.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from tests.mutants.catalogue import GROUPS, Mutant

ROOT = Path(__file__).resolve().parents[2]
# A mutant that stops a loop can leave a test waiting on it (a scheduler that died mid-run):
# past this, it counts as caught.
TIMEOUT_SECONDS = 300


def _uncommitted(path: str) -> bool:
    changed = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", path], cwd=ROOT, check=False)
    return changed.returncode != 0


def _try(mutant: Mutant) -> bool:
    """Whether a test failed against `mutant` (the file restored after)."""
    path = ROOT / mutant.path
    original = path.read_text("utf-8")
    if original.count(mutant.old) != 1:
        raise SystemExit(f"{mutant.name}: its text is not found once in {mutant.path}")
    path.write_text(original.replace(mutant.old, mutant.new), "utf-8")
    try:
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *mutant.tests],
            cwd=ROOT,
            capture_output=True,
            check=False,
            timeout=TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return True  # a test hung: the mutant did not pass
    finally:
        path.write_text(original, "utf-8")
    return run.returncode != 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", help=f"of {', '.join(GROUPS)} (default: all)")
    names = parser.parse_args().groups or list(GROUPS)
    if unknown := set(names) - GROUPS.keys():
        parser.error(f"unknown groups: {', '.join(sorted(unknown))}")
    survived = 0
    for mutant in (m for name in names for m in GROUPS[name]):
        if mutant.equivalent:
            print(f"equivalent  {mutant.name}: {mutant.equivalent}")
            continue
        if _uncommitted(mutant.path):
            raise SystemExit(f"{mutant.path} has uncommitted changes: commit or stash them first")
        started = time.monotonic()
        killed = _try(mutant)
        survived += not killed
        verdict = "killed   " if killed else "SURVIVED "
        print(f"{verdict}  {mutant.name} ({time.monotonic() - started:.0f} s): {mutant.guarantee}")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
