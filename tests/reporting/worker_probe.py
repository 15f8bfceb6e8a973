"""Called in a fold worker by tests: imports nothing, so a worker's modules are its own."""

from __future__ import annotations

import sys


def loaded_packages() -> set[str]:
    """The top-level packages imported in this process."""
    return {name.split(".")[0] for name in sys.modules}


def _resident_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise LookupError("no VmRSS in /proc/self/status")


def resident_bytes_given_back(blocks: int) -> int:
    """Resident bytes given back at once as a block of 1 MiB is freed (the median over `blocks`
    of them: other threads of the process allocate meanwhile), after a larger block was freed
    before them (as a restore frees its compressed parts, then its columns)."""
    larger = bytearray(16 << 20)
    del larger
    freed = [bytearray(1 << 20) for _ in range(blocks)]
    above = bytearray(1 << 16)  # keeps them off the heap's top, which glibc trims by itself
    given_back = []
    while freed:
        before = _resident_bytes()
        freed.pop()  # the block is freed with the popped reference
        given_back.append(before - _resident_bytes())
    del above
    return sorted(given_back)[blocks // 2]
