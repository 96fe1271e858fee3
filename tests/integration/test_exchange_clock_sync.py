"""Clock sync with the real ccxt client against a local ``/fapi/v1/time`` whose answers are
delayed: one slow answer no longer reads as drift, only slow answers prove nothing, and a
real skew is still refused."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import ccxt
import pytest

from xsmom.errors import ClockDriftError
from xsmom.exchange import CcxtConfig, CcxtExchange
from xsmom.venue.testing import ccxt_config


class TimeServer(ThreadingHTTPServer):
    """Answers the venue's time plus ``skew_ms``, read on arrival, after ``delays`` in turn."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), TimeHandler)
        self.skew_ms = 0
        self.delays: list[float] = []
        self.lock = threading.Lock()

    def next_delay(self) -> float:
        with self.lock:
            return self.delays.pop(0) if self.delays else 0.0


class TimeHandler(BaseHTTPRequestHandler):
    server: TimeServer

    def do_GET(self) -> None:
        stamp = int(time.time() * 1000) + self.server.skew_ms
        time.sleep(self.server.next_delay())
        body = json.dumps({"serverTime": stamp}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[TimeServer]:
    srv = TimeServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def adapter(server: TimeServer, max_drift_ms: int, samples: int = 5) -> CcxtExchange:
    url = f"http://127.0.0.1:{server.server_address[1]}"
    client = ccxt.binanceusdm(ccxt_config(url))
    cfg = CcxtConfig(max_clock_drift_ms=max_drift_ms, clock_samples=samples)
    return CcxtExchange(cfg, client=client)


def test_one_slow_answer_is_not_drift(server: TimeServer) -> None:
    server.delays = [0.6]  # one answer read on arrival and sent 600 ms later
    ex = adapter(server, max_drift_ms=200)
    sample = ex.clock.ensure_synced()
    assert abs(sample.offset_ms) < 100 and sample.samples == 5 and sample.good
    assert abs(ex.sync_clock()) < 100


def test_the_old_single_sample_reading_would_have_refused(server: TimeServer) -> None:
    server.delays = [0.6]
    sample = adapter(server, max_drift_ms=200, samples=1).clock.measure()
    assert sample.offset_ms < -200  # |offset| > max drift: the old fatal verdict
    assert not sample.drift_beyond(200)  # its error bound (rtt/2) covers it


def test_only_slow_answers_prove_nothing(server: TimeServer) -> None:
    server.delays = [0.6, 0.6, 0.6]
    sample = adapter(server, max_drift_ms=200, samples=3).clock.ensure_synced()
    assert sample.offset_ms < -200 and sample.error_ms >= 300 and sample.good


def test_a_real_skew_is_refused(server: TimeServer) -> None:
    server.skew_ms = 1_500
    ex = adapter(server, max_drift_ms=200)
    with pytest.raises(ClockDriftError, match="best of 5 round trips"):
        ex.clock.ensure_synced()
    server.skew_ms = 50  # the host clock was fixed: the next check measures again
    assert abs(ex.clock.ensure_synced().offset_ms - 50) < 50
