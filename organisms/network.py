"""One cheap reachability check for the servers we call (the HF hub, W&B): a single TCP connect
with a short timeout, instead of a client's minutes of retries before it says anything."""

from __future__ import annotations

import socket
from urllib.parse import urlparse
from urllib.request import getproxies


def connect_error(url: str, timeout: float) -> OSError | None:
    """The error of one TCP connection to `url`'s host and port, or None when it connects.
    Behind an HTTPS proxy we cannot tell cheaply, so it counts as reachable (None)."""
    if "https" in getproxies():
        return None
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        socket.create_connection((parsed.hostname or "", port), timeout=timeout).close()
    except OSError as exc:
        return exc
    return None
