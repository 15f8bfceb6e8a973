"""Every mutant of the catalogue still applies to the code as it is, and names tests that exist:
a change that moves a guarded line must bring its entry along (tests/mutants/catalogue.py)."""

from __future__ import annotations

import pytest

from tests.mutants.__main__ import ROOT
from tests.mutants.catalogue import GROUPS, Mutant

MUTANTS = [m for group in GROUPS.values() for m in group]


def test_names_are_unique() -> None:
    names = [m.name for m in MUTANTS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_the_mutant_applies_and_names_its_tests(mutant: Mutant) -> None:
    text = (ROOT / mutant.path).read_text("utf-8")
    assert text.count(mutant.old) == 1, f"{mutant.name}: not found once in {mutant.path}"
    assert mutant.new != mutant.old
    # An equivalent mutant names no test; any other names at least one, each of which exists.
    assert bool(mutant.tests) != bool(mutant.equivalent)
    for test in mutant.tests:
        path, _, name = test.partition("::")
        assert (ROOT / path).is_file(), test
        assert not name or f"def {name}(" in (ROOT / path).read_text("utf-8"), test
