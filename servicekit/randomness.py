"""Random ids from the operating system's generator, read a page at a time.

Each command took three random ids (its event's, its causation's, a correlation id), each an
`os.urandom(16)`: a `getrandom` system call apiece, which a profile of the registry under wrk put
at ~9% of its busy loop on this host's virtual machine (issue 12). One call now serves 256 ids;
the bytes are the same generator's. A forked child starts with no buffered bytes, so parent and
child never hand out the same ones.
"""

from __future__ import annotations

import os
import threading
import uuid

_PAGE = 4096
_ID = 16


class _Pool:
    def __init__(self) -> None:
        self.lock = threading.Lock()  # ids are taken by the loop and by worker threads
        self.forget()

    def forget(self) -> None:
        self.page, self.at = b"", _PAGE

    def take(self) -> bytes:
        with self.lock:
            if self.at >= len(self.page):
                self.page, self.at = os.urandom(_PAGE), 0
            page, at = self.page, self.at
            self.at = at + _ID
        return page[at : at + _ID]


_POOL = _Pool()
os.register_at_fork(after_in_child=_POOL.forget)


def random_uuid() -> uuid.UUID:
    """A random (version 4) UUID, as `uuid.uuid4()` makes one."""
    return uuid.UUID(bytes=_POOL.take(), version=4)


def random_id() -> str:
    """A random (version 4) UUID's text, as `str(uuid.uuid4())` writes it in a third of its
    time: a command's causation without an id, a request's correlation without one."""
    raw = bytearray(_POOL.take())
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
