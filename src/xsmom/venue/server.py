"""HTTP server speaking the Binance USDT-M futures REST subset (and a Bybit v5 dialect under
``/v5/``, see :mod:`xsmom.venue.routes_bybit`), on 127.0.0.1 only.

Thin: it parses the request, injects faults, charges weights, checks the signature, calls the
route under the venue's lock and writes JSON. State lives in :class:`Venue` and its engine.
Admin endpoints (``/admin/...``, loopback only, no signature):

* ``GET /admin/clock`` -> ``{"now": ms, "speed": x}``; ``POST /admin/clock`` with JSON
  ``{"advance_ms": n}`` or ``{"set_ms": t}`` steps the replay clock and syncs the engine.
* ``GET /admin/faults`` -> counts of injected faults; ``POST /admin/faults`` with a fault plan
  (see :mod:`xsmom.venue.faults`) replaces the plan.
* ``GET /admin/state`` -> the matching engine's snapshot.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from xsmom.errors import ConfigError, XsmomError
from xsmom.venue.auth import Credentials, WeightMeter, check_signed, check_timestamp
from xsmom.venue.binance import ApiError
from xsmom.venue.bybit import PARAMS, BybitError, envelope, to_bybit
from xsmom.venue.faults import ORDER_PATHS, Decision, FaultInjector, parse_plan
from xsmom.venue.params import Params, Route
from xsmom.venue.routes_account import ACCOUNT_ROUTES
from xsmom.venue.routes_bybit import (
    BYBIT_ROUTES,
    bybit_params,
    check_bybit_signed,
    check_bybit_time,
)
from xsmom.venue.routes_market import MARKET_ROUTES
from xsmom.venue.service import Venue

if TYPE_CHECKING:
    from xsmom.venue.persist import StateStore

log = logging.getLogger(__name__)
ROUTES: dict[tuple[str, str], Route] = {**MARKET_ROUTES, **ACCOUNT_ROUTES}
LOOPBACK = ("127.0.0.1", "::1", "localhost")
# requests that reach the matching engine: a stale one is refused there with -5028
ENGINE_PATHS = ORDER_PATHS | {"/fapi/v1/allOpenOrders"}
ME_STALE = "Timestamp for this request is outside of the ME recvWindow."
_PLAIN_5XX = {
    "500": "Internal Server Error",
    "502": "Bad Gateway",
    "503": "Service Unavailable",
    "504": "Gateway Timeout",
}


class _Drop(Exception):
    """Close the connection without answering."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: _HTTPServer

    def do_GET(self) -> None:
        self.server.app.handle(self)

    do_POST = do_GET
    do_DELETE = do_GET
    do_PUT = do_GET

    def log_message(self, format: str, *args: Any) -> None:  # the stdlib's parameter name
        log.debug("%s " + format, self.address_string(), *args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    app: VenueServer


def _bind(host: str, port: int) -> _HTTPServer:
    """Bind the HTTP server; a bad or busy port is a one-line ConfigError."""
    if not 0 <= port <= 65535:
        raise ConfigError(f"venue port must be in 0..65535, not {port}")
    try:
        return _HTTPServer((host, port), _Handler)
    except OSError as exc:
        raise ConfigError(f"venue cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


class VenueServer:
    """The simulated venue over HTTP; ``start()`` serves in a thread, ``stop()`` ends it."""

    def __init__(
        self,
        venue: Venue,
        *,
        credentials: Credentials,
        faults: FaultInjector | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        weight_limit: int = 2400,
        order_limit_10s: int = 300,
        order_limit_1m: int = 1200,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if host not in LOOPBACK:
            raise ConfigError(f"the venue binds to loopback only, not {host!r}")
        self.venue = venue
        self.credentials = credentials
        self.faults = faults or FaultInjector()
        self._sleep = sleep
        seconds = self._server_seconds
        self.weights = WeightMeter(weight_limit, seconds)
        self.order_meters = (
            WeightMeter(
                order_limit_10s,
                seconds,
                window_s=10.0,
                code=-1015,
                header="X-MBX-ORDER-COUNT-10S",
            ),
            WeightMeter(
                order_limit_1m, seconds, window_s=60.0, code=-1015, header="X-MBX-ORDER-COUNT-1M"
            ),
        )
        self.expired_at_apply = 0
        self.on_applied: Callable[[], None] | None = None
        self.state: StateStore | None = None  # set by create_server with --state
        self.httpd = _bind(host, port)
        self.httpd.app = self
        self._thread: threading.Thread | None = None
        self.internal_errors = 0

    def _server_seconds(self) -> float:
        """Return the venue's server clock in seconds (the clock of weights and timestamps)."""
        return self.venue.server_time() / 1000.0

    @property
    def port(self) -> int:
        """Return the bound port."""
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        """Return the base URL (``http://127.0.0.1:PORT``)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> VenueServer:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self.httpd.serve_forever()

    def stop(self) -> None:
        """Stop serving and close the socket (and the state file, committed)."""
        if self._thread is not None:  # shutdown() waits for a serve loop that must exist
            self.httpd.shutdown()
            self._thread.join(timeout=5)
        self.httpd.server_close()
        self.close_state()

    def close_state(self) -> None:
        """Commit and close the state file, if any."""
        if self.state is not None:
            with self.venue.lock:
                self.state.commit(self.venue)
            self.state.close()
            self.state = None

    # ---- request handling --------------------------------------------------------------------
    def handle(self, req: _Handler) -> None:
        """Answer one request (or drop it, if a fault says so)."""
        split = urlsplit(req.path)
        try:
            length = int(req.headers.get("Content-Length") or 0)
            body = req.rfile.read(length).decode() if length > 0 else ""
        except (ValueError, UnicodeDecodeError):
            req.close_connection = True  # the body cannot be framed: answer and close
            self._write(req, 400, {"code": -1100, "msg": "Malformed request body."}, {})
            return
        try:
            status, payload, headers = self._dispatch(req, split.path, split.query, body)
        except _Drop:
            req.close_connection = True
            return
        except Exception:  # request boundary: log with traceback, count, answer -1000
            self.internal_errors += 1
            log.exception("venue: internal error on %s %s", req.command, split.path)
            status, payload, headers = 500, {"code": -1000, "msg": "An unknown error occurred."}, {}
        try:
            self._write(req, status, payload, headers)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("venue: client left before the answer (%s %s)", req.command, split.path)
            req.close_connection = True

    def _dispatch(
        self, req: _Handler, path: str, query: str, body: str
    ) -> tuple[int, Any, dict[str, str]]:
        if path.startswith("/admin/"):
            return self._admin(req, path, body)
        if path.startswith("/v5/"):
            return self._dispatch_bybit(req, path, query, body)
        decision = self.faults.decide(req.command, path, self.venue.clock.now_ms())
        headers: dict[str, str] = {}
        try:
            self._pre_faults(decision)
            route = ROUTES.get((req.command, path))
            if route is None:
                raise ApiError(404, -5000, f"Path {path}, Method {req.command} is invalid")
            params = Params(dict(parse_qsl(query)) | dict(parse_qsl(body)))
            used = self.weights.charge(req.client_address[0], route.weight_of(params))
            headers["X-MBX-USED-WEIGHT-1M"] = str(used)
            if route.signed:  # the gateway's check, at receipt
                key = req.headers.get("X-MBX-APIKEY")
                check_signed(
                    self.credentials, key, query, body, params.raw, self.venue.server_time()
                )
            if req.command == "POST" and path in ORDER_PATHS:
                for meter in self.order_meters:
                    headers[meter.header] = str(meter.charge("account", 1))
            if decision.error == "stall":  # held between the gateway and the engine
                self._sleep(decision.timeout_s)
            result = self._apply(req.command, path, route, params)
        except ApiError as exc:
            return exc.status, exc.body(), {**headers, **exc.headers}
        self._post_faults(decision)
        return 200, result, headers

    def _dispatch_bybit(
        self, req: _Handler, path: str, query: str, body: str
    ) -> tuple[int, Any, dict[str, str]]:
        """Answer a Bybit v5 request (same venue, faults and weights; Bybit's envelope)."""
        decision = self.faults.decide(req.command, path, self.venue.clock.now_ms())
        headers: dict[str, str] = {}
        try:
            self._pre_faults(decision)
            route = BYBIT_ROUTES.get((req.command, path))
            if route is None:
                raise BybitError(PARAMS, f"Path {path} is invalid", 404)
            params = bybit_params(req.command, query, body)
            self.weights.charge(req.client_address[0], route.weight_of(params))
            stamp = None
            if route.signed:  # the gateway's check, at receipt
                payload = body if req.command == "POST" else query
                now = self.venue.server_time()
                heads = {k.upper(): v for k, v in req.headers.items()}
                stamp = check_bybit_signed(self.credentials, heads, payload, now)
            if req.command == "POST" and path == "/v5/order/create":
                for meter in self.order_meters:
                    meter.charge("account", 1)
            if decision.error == "stall":
                self._sleep(decision.timeout_s)
            result = self._apply_bybit(route, params, stamp)
        except ApiError as exc:
            err = to_bybit(exc)
            return err.status, err.body(), {**headers, **err.headers}
        self._post_faults(decision)
        return 200, envelope(result, self.venue.server_time()), headers

    def _apply_bybit(self, route: Route, params: Params, stamp: tuple[int, int] | None) -> Any:
        """Run a Bybit route under the venue lock; a signed one is checked for freshness again."""
        with self.venue.lock:
            if stamp is not None:
                try:
                    check_bybit_time(*stamp, self.venue.server_time())
                except ApiError:
                    self.expired_at_apply += 1
                    raise
            try:
                self.venue.sync()
                return route.handler(self.venue, params)
            finally:
                if self.on_applied is not None:
                    self.on_applied()

    def _apply(self, method: str, path: str, route: Route, params: Params) -> Any:
        """Run the route under the venue lock; a signed request is checked against its
        ``recvWindow`` once more at this moment, as Binance's matching engine does (-5028)."""
        with self.venue.lock:
            if route.signed:
                try:
                    check_timestamp(params.raw, self.venue.server_time())
                except ApiError as exc:
                    self.expired_at_apply += 1
                    if exc.code == -1021 and (method != "GET" and path in ENGINE_PATHS):
                        raise ApiError(400, -5028, ME_STALE) from exc
                    raise
            try:
                self.venue.sync()
                return route.handler(self.venue, params)
            finally:
                if self.on_applied is not None:  # the state store: durable before the answer
                    self.on_applied()

    def _pre_faults(self, d: Decision) -> None:
        if d.latency_s > 0:
            self._sleep(d.latency_s)
        if d.error == "maintenance":
            raise ApiError(503, -1001, "System is under maintenance.")
        if d.error in _PLAIN_5XX:
            raise ApiError(int(d.error), 0, _PLAIN_5XX[d.error])
        if d.error in ("429", "418"):
            msg = "Too many requests." if d.error == "429" else "Way too much request weight used."
            raise ApiError(int(d.error), -1003, msg, {"Retry-After": str(d.retry_after)})
        if d.error == "timeout":
            self._sleep(d.timeout_s)
            raise _Drop
        if d.error == "reject" and d.reject is not None:
            raise ApiError(400, d.reject[0], d.reject[1])

    def _post_faults(self, d: Decision) -> None:
        if d.error == "drop":
            raise _Drop
        if d.error == "late":
            self._sleep(d.timeout_s)

    def _admin(self, req: _Handler, path: str, body: str) -> tuple[int, Any, dict[str, str]]:
        if req.client_address[0] not in LOOPBACK:
            return 403, {"code": -2015, "msg": "admin endpoints are loopback only"}, {}
        try:
            data = json.loads(body) if body else {}
            if not isinstance(data, dict):
                raise ValueError("the admin body must be a JSON object")
            return 200, self._admin_call(req.command, path, data), {}
        except (ValueError, TypeError, XsmomError) as exc:
            return 400, {"code": -1102, "msg": str(exc)}, {}

    def _admin_call(self, method: str, path: str, data: dict[str, Any]) -> Any:
        clock = self.venue.clock
        if path == "/admin/clock":
            if method == "POST":
                self._step_clock(data)
            return {"now": self.venue.sync(), "speed": clock.speed}
        if path == "/admin/faults":
            if method == "POST":
                self.faults.replace(parse_plan(data))
            return {
                "counts": dict(self.faults.counts),
                "internal_errors": self.internal_errors,
                "expired_at_apply": self.expired_at_apply,
            }
        if path == "/admin/state":
            with self.venue.lock:
                return self.venue.engine.snapshot()
        raise ValueError(f"unknown admin path {path}")

    def _step_clock(self, data: dict[str, Any]) -> None:
        clock = self.venue.clock
        set_ms, advance_ms = data.get("set_ms"), int(data.get("advance_ms", 0))
        if advance_ms < 0 or (set_ms is not None and int(set_ms) < clock.now_ms()):
            raise ValueError("the replay clock only moves forward")
        if set_ms is not None:
            clock.set_to(int(set_ms))
        clock.advance(advance_ms)
        with self.venue.lock:
            self.venue.sync()
            if self.on_applied is not None:
                self.on_applied()

    def _write(self, req: _Handler, status: int, payload: Any, headers: dict[str, str]) -> None:
        if status >= 500 and isinstance(payload, dict) and payload.get("code") == 0:
            data = str(payload["msg"]).encode()
            ctype = "text/plain"
        else:
            data = json.dumps(payload, separators=(",", ":")).encode()
            ctype = "application/json"
        req.send_response(status)
        req.send_header("Content-Type", ctype)
        req.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            req.send_header(k, v)
        req.end_headers()
        req.wfile.write(data)
