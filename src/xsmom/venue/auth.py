"""Request signing and request weights, as Binance USDT-M checks them.

* Signed endpoints need the ``X-MBX-APIKEY`` header (-2015 if missing or unknown), a
  ``signature`` = hex HMAC-SHA256 of the rest of the query string and body with the secret
  (-1022), and a ``timestamp`` within ``recvWindow`` (default 5000 ms, at most 60000) of the
  venue's wall clock and not more than 1000 ms ahead of it (-1021).
* Every request costs a weight; more than ``limit`` per rolling minute is answered 429 with
  ``Retry-After`` (-1003). Each answer carries ``X-MBX-USED-WEIGHT-1M``.

Timestamps are checked against the real wall clock, not the replay clock: the client signs with
its own clock, whatever market time the replay shows.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from xsmom.venue.binance import ApiError


@dataclass(frozen=True)
class Credentials:
    """The one API key pair the venue accepts. ``repr`` never shows the secret."""

    api_key: str
    secret: str

    def __repr__(self) -> str:
        return f"Credentials(api_key={self.api_key!r}, secret=***)"


def sign(payload: str, secret: str) -> str:
    """Return the hex HMAC-SHA256 signature of ``payload``."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def split_signature(query: str, body: str) -> tuple[str, str | None]:
    """Return (signed payload, signature) of a request's raw query string and body."""
    parts = [p for p in (query, body) if p]
    payload = "&".join(parts)
    marker = "&signature="
    idx = payload.rfind(marker)
    if idx >= 0:
        return payload[:idx], payload[idx + len(marker) :]
    if payload.startswith("signature="):
        return "", payload[len("signature=") :]
    return payload, None


def check_signed(
    creds: Credentials,
    api_key: str | None,
    query: str,
    body: str,
    params: dict[str, str],
    now_ms: int,
) -> None:
    """Raise :class:`ApiError` unless the request is signed by ``creds`` and fresh."""
    if not api_key or not hmac.compare_digest(api_key, creds.api_key):
        raise ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
    payload, signature = split_signature(query, body)
    if signature is None:
        raise ApiError(
            400,
            -1102,
            "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
        )
    if not hmac.compare_digest(sign(payload, creds.secret), signature.lower()):
        raise ApiError(400, -1022, "Signature for this request is not valid.")
    check_timestamp(params, now_ms)


def check_timestamp(params: dict[str, str], now_ms: int) -> None:
    """Raise -1021 unless ``timestamp`` lies within ``recvWindow`` before ``now_ms`` (and at
    most 1000 ms after it); -1102 if missing, -1131 for a window outside (0, 60000]."""
    try:
        ts = int(params["timestamp"])
        window = int(params.get("recvWindow", "5000"))
    except (KeyError, ValueError) as exc:
        raise ApiError(
            400,
            -1102,
            "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
        ) from exc
    if not 0 < window <= 60_000:
        raise ApiError(400, -1131, "recvWindow must be less than 60000")
    if ts > now_ms + 1000 or now_ms - ts > window:
        raise ApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.")


class WeightMeter:
    """Weight used in a rolling window (a minute by default), per client.

    Over ``limit`` the request is refused with HTTP 429, ``code`` and ``Retry-After``; the
    refused request itself is not counted.
    """

    def __init__(
        self,
        limit: int = 2400,
        clock: Callable[[], float] = time.monotonic,
        *,
        window_s: float = 60.0,
        code: int = -1003,
        header: str = "X-MBX-USED-WEIGHT-1M",
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.code = code
        self.header = header
        self._clock = clock
        self._hits: dict[str, deque[tuple[float, int]]] = {}
        self._lock = threading.Lock()

    def charge(self, client: str, weight: int) -> int:
        """Add ``weight`` for ``client``; return the window's total, raise 429 over the limit."""
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(client, deque())
            while hits and now - hits[0][0] >= self.window_s:
                hits.popleft()
            used = sum(w for _, w in hits)
            if used + weight > self.limit:
                wait = self.window_s - (now - hits[0][0]) if hits else 0.0
                raise ApiError(
                    429,
                    self.code,
                    self._message(),
                    {
                        "Retry-After": str(max(1, int(wait) + 1)),
                        self.header: str(used),
                    },
                )
            hits.append((now, weight))
            return used + weight

    def _message(self) -> str:
        if self.code == -1015:
            per = f"{self.window_s:g} s"
            return f"Too many new orders; current limit is {self.limit} orders per {per}."
        return f"Too many requests; current limit of IP is {self.limit} requests per minute."
