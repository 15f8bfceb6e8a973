"""Called in a fold worker by tests: imports nothing, so a worker's modules are its own."""

from __future__ import annotations

import sys


def loaded_packages() -> set[str]:
    """The top-level packages imported in this process."""
    return {name.split(".")[0] for name in sys.modules}
