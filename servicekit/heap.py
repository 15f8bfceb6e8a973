"""The C heap of a long-lived process: freed memory given back to the operating system.

glibc maps a block of at least its threshold on its own, and raises the threshold to the size
of each such block freed (up to 32 MiB): after a large block is freed once, the next ones come
from the heap, where a freed block below others stays resident (issue 12: reporting's RSS).
"""

from __future__ import annotations

import contextlib
import ctypes

_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
# At 1M facts a restore peaked at 106.7 MiB with glibc's moving threshold, 97.0 with 128 KiB
# (its starting value) and 99.8 with 512 KiB; at 128 KiB each copy of a state's dicts (a fold
# worker's, per late fact) took 3.3-3.7 against 1.6-1.9 ms (new mappings' page faults), at
# 512 KiB 1.1 ms.
MMAP_THRESHOLD = 512 * 1024


def return_large_blocks() -> None:
    """From now on blocks of 512 KiB and more are mapped on their own, unmapped when freed."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: its own heap's ways
        ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def trim() -> None:
    """Give the heap's whole free pages back to the operating system now."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
