"""Free-port picking and small TCP probes used by the devstack launchers."""

from __future__ import annotations

import socket
import time

LOCALHOST = "127.0.0.1"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now.

    The kernel picks it (bind to port 0); the socket is closed before returning, so another
    process could in principle take the port before the caller binds it. Ports come from the
    ephemeral range, where collisions with fixed development ports are unlikely.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_open(port: int, host: str = LOCALHOST, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_port_closed(port: int, host: str = LOCALHOST, timeout: float = 10.0) -> bool:
    """Poll until nothing listens on host:port; False if it is still open after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not port_is_open(port, host, timeout=0.2):
            return True
        time.sleep(0.1)
    return not port_is_open(port, host, timeout=0.2)
