"""The C heap of a long-lived process: freed memory given back to the operating system.

glibc maps a block of at least its threshold on its own, and raises the threshold to the size
of each such block freed (up to 32 MiB): after a large block is freed once, the next ones come
from the heap, where a freed block below others stays resident (issue 12: reporting's RSS).
"""

from __future__ import annotations

import contextlib
import ctypes

_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
MMAP_THRESHOLD = 128 * 1024  # glibc's starting value, kept


def return_large_blocks() -> None:
    """From now on blocks of 128 KiB and more are mapped on their own, unmapped when freed."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: its own heap's ways
        ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def trim() -> None:
    """Give the heap's whole free pages back to the operating system now."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
