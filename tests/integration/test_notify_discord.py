"""The Discord channel and the outbox against a local server that behaves like Discord.

The server (xsmom.notify.fake_discord) validates every body against Discord's limits with its
own code, takes multipart attachments, and answers 429 with ``retry_after`` and 5xx at times.
The outage test runs an hour-long webhook outage on an injected clock: no alert is lost and
none is sent twice, counted by dedup key on the server.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest

from xsmom.notify import (
    Backoff,
    ConsoleChannel,
    DiscordChannel,
    OutboxWorker,
    WebhookUrl,
    deliver_due,
    enqueue,
    render,
)
from xsmom.notify import messages as m
from xsmom.notify.channel import Channel
from xsmom.notify.fake_discord import FakeDiscord
from xsmom.notify.testing import MemoryOutbox

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
MIN = 60_000
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord() as server:
        yield server


def _discord(fake: FakeDiscord, timeout_s: float = 5.0) -> DiscordChannel:
    return DiscordChannel(WebhookUrl(fake.url), timeout_s=timeout_s)


def _catalogue() -> list[m.Message]:
    t = T0
    return [
        m.EngineStarted(ts_event=t, ts_init=t, run_id="run-1", mode="live", exchange="binanceusdm"),
        m.EngineStopped(ts_event=t, ts_init=t, run_id="run-1", reason="SIGTERM"),
        m.FillsSummarized(
            ts_event=t,
            ts_init=t,
            bar_ms=t,
            fills=40,
            notional=1e5,
            fees=40.0,
            lines=tuple(f"SYM{i}/USDT:USDT buy {i} @ 1.0" for i in range(40)),
        ),
        m.GuardTransitioned(
            ts_event=t,
            ts_init=t,
            from_state="active",
            to_state="reducing",
            guard="margin",
            reason="margin ratio 0.82",
        ),
        m.CircuitBreakerOpened(
            ts_event=t, ts_init=t, calls=10, failures=6, failure_rate=0.6, reason="timeouts"
        ),
        m.CircuitBreakerClosed(ts_event=t, ts_init=t, open_ms=120_000),
        m.NoTradeAlerted(ts_event=t, ts_init=t, since_ms=t - 7_200_000, bars=2, reason="@everyone"),
        m.StaleHeartbeatDetected(ts_event=t, ts_init=t, last_beat_ms=t - 900_000, threshold_s=300),
        m.ReconciliationRepaired(ts_event=t, ts_init=t, repairs=("a", "b")),
        m.ReconciliationRefused(ts_event=t, ts_init=t, reason="x" * 7000),
        m.OptimizerFinished(
            ts_event=t, ts_init=t, candidate_version="f" * 64, accepted=False, oos_sharpe=0.3
        ),
        m.DailyReportCreated(
            ts_event=t,
            ts_init=t,
            date="2025-12-31",
            pnl=5.0,
            return_pct=0.05,
            equity=10_005.0,
            chart=m.Attachment(filename="equity.png", data=PNG),
        ),
        m.NotificationTested(ts_event=t, ts_init=t),
        m.RolloutTransitioned(
            ts_event=t,
            ts_init=t,
            version="e" * 64,
            from_stage="full",
            to_stage="rolled_back",
            reason="costs -0.035 far below its band [-0.0175, -0.0019]",
            active_version="a" * 64,
            previous_active="e" * 64,
        ),
        m.RolloutRestartFailed(
            ts_event=t,
            ts_init=t,
            active_version="a" * 64,
            command="systemctl restart xsmom-live",
            reason="timed out after 60 s",
        ),
    ]


def test_every_catalogue_message_is_accepted_by_discord(fake: FakeDiscord) -> None:
    ch = _discord(fake)
    messages = _catalogue()
    assert {type(x).kind for x in messages} == set(m.CATALOGUE)
    for message in messages:
        result = ch.send(render(message))
        assert result.describe() == "ok (HTTP 200)", message.kind
    assert fake.state.rejected == []
    assert fake.state.dedup_keys() == [x.dedup_key for x in messages]
    daily = fake.state.accepted[11]
    assert daily.files == {"files[0]": PNG}
    assert daily.payload["embeds"][0]["image"]["url"] == "attachment://equity.png"
    assert all(p.query == "wait=true" for p in fake.state.accepted)
    refused = fake.state.accepted[9].payload
    text = "".join(e.get("description", "") for e in refused["embeds"])
    assert text.startswith("x" * 4000) and text.endswith("more characters cut]")
    ch.close()


def test_the_fake_refuses_what_discord_refuses(fake: FakeDiscord) -> None:
    import httpx

    too_long = {"embeds": [{"title": "t" * 257, "fields": [{"name": "n", "value": ""}]}]}
    r = httpx.post(fake.url, json=too_long)
    assert r.status_code == 400 and r.json()["code"] == 50035
    assert any("title: 257 > 256" in e for e in r.json()["errors"])
    assert httpx.post(fake.url, json={"content": "x" * 2001}).status_code == 400
    embeds = [{"description": "d" * 4000} for _ in range(2)]
    assert httpx.post(fake.url, json={"embeds": embeds}).status_code == 400  # 8000 > 6000
    assert httpx.post(fake.url.replace(fake.state.token, "bad"), json={}).status_code == 401
    assert httpx.post(fake.url, json={"content": "ok"}).status_code == 200


def _engine_alerts(minute: int) -> list[m.Message]:
    t = T0 + minute * MIN
    alerts: list[m.Message] = [
        m.FillsSummarized(ts_event=t, ts_init=t, bar_ms=t, fills=1, notional=100.0, fees=0.05)
    ]
    if minute % 15 == 7:
        alerts.append(
            m.GuardTransitioned(
                ts_event=t,
                ts_init=t,
                from_state="active",
                to_state="halted",
                guard="stale_data",
                reason="no bar for 3 minutes",
            )
        )
    if minute % 20 == 0:  # a restarted engine re-emits its start: the same key, one alert
        alerts.append(m.EngineStarted(ts_event=T0, ts_init=t, run_id="run-A", mode="live"))
    return alerts


def _outage_mode(minute: int) -> int | None:
    """The webhook's state at ``minute``: None = up, else the status it answers (0: dropped)."""
    if 10 <= minute < 40:
        return 503
    if 40 <= minute < 55:
        return 0  # connection dropped without an answer
    if 55 <= minute < 70:
        return 502
    return None


def test_an_hour_long_outage_loses_nothing_and_sends_nothing_twice(fake: FakeDiscord) -> None:
    box = MemoryOutbox()
    console_lines: list[str] = []
    fake.state.rate_limit_every = 9
    fake.state.retry_after = 4.0

    def channels() -> list[Channel]:
        return [_discord(fake, timeout_s=2.0), ConsoleChannel(echo=console_lines.append)]

    backoff = Backoff(base_s=2, max_s=120, rate_limit_max_s=60)
    now = [T0]
    chans = channels()
    worker = OutboxWorker(box, chans, clock=lambda: now[0], backoff=backoff)
    expected: set[str] = set()
    requests_during_outage = 0
    for second in range(0, 3 * 3600, 5):  # 3 simulated hours in 5 s steps, no sleeping
        now[0] = T0 + second * 1000
        minute = second // 60
        mode = _outage_mode(minute)
        fake.state.down, fake.state.down_status = mode is not None, mode or 0
        if second % 60 == 0 and minute < 120:
            for alert in _engine_alerts(minute):
                enqueue(box, alert, chans, now[0])
                expected.add(alert.dedup_key)
        if second == 47 * 60:  # the engine is killed mid-outage and restarts: new channels,
            for c in chans:  # new worker, no memory of the backoff; only the outbox survives
                c.close()
            chans = channels()
            worker = OutboxWorker(box, chans, clock=lambda: now[0], backoff=backoff)
        before = fake.state.requests
        worker.run_once()
        if mode is not None:
            requests_during_outage += fake.state.requests - before
    received = Counter(fake.state.dedup_keys())
    assert set(received) == expected  # nothing lost
    assert max(received.values()) == 1  # nothing twice
    assert len(expected) == 120 + 8 + 1
    assert box.pending() == []
    assert sorted(Counter(line.split("(")[-1].rstrip(")") for line in console_lines).values()) == [
        1
    ] * len(expected)
    # during the hour of outage the channel was probed at the backoff's pace, not hammered
    assert 0 < requests_during_outage <= 60
    assert fake.state.rejected == []
    for c in chans:
        c.close()


def test_a_lost_answer_duplicates_with_the_same_visible_key(fake: FakeDiscord) -> None:
    box = MemoryOutbox()
    ch = _discord(fake, timeout_s=2.0)
    alert = m.NoTradeAlerted(ts_event=T0, ts_init=T0, since_ms=T0, bars=3, reason="quiet")
    enqueue(box, alert, [ch], T0)
    fake.state.script.append(("lose_answer", 0))
    assert deliver_due(box, [ch], T0).retried == 1  # stored by Discord, but we never heard it
    assert deliver_due(box, [ch], T0 + 2_000).sent == 1
    assert fake.state.dedup_keys() == [alert.dedup_key, alert.dedup_key]  # at least once: a reader
    footers = [p.payload["embeds"][0]["footer"]["text"] for p in fake.state.accepted]
    assert footers[0] == footers[1] == f"{alert.dedup_key} · no_trade"  # sees it is one alert
    ch.close()


def test_wrong_token_is_parked_and_its_error_holds_no_secret(fake: FakeDiscord) -> None:
    box = MemoryOutbox()
    ch = DiscordChannel(WebhookUrl(fake.url.replace(fake.state.token, "wrong-token-12345678")))
    enqueue(box, m.NotificationTested(ts_event=T0, ts_init=T0), [ch], T0)
    report = deliver_due(box, [ch], T0)
    assert report.parked == 1
    error = box.pending()[0].last_error or ""
    assert error == "permanent: HTTP 401; Invalid Webhook Token (code 50027)"
    assert "wrong-token" not in error and fake.state.webhook_id not in error
    ch.close()


def test_the_worker_honours_a_real_429_without_blocking_its_caller(fake: FakeDiscord) -> None:
    box = MemoryOutbox()
    ch = _discord(fake)
    fake.state.script.append(("429", 0.3))
    worker = OutboxWorker(box, [ch], poll_s=0.05)
    worker.start()
    started = time.monotonic()
    for i in range(3):
        enqueue(box, m.NotificationTested(ts_event=T0 + i, ts_init=T0), [ch], T0)
    worker.wake()
    assert time.monotonic() - started < 0.1  # enqueue + wake return at once
    deadline = time.monotonic() + 10
    while box.pending() and time.monotonic() < deadline:
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    assert worker.stop()
    assert box.pending() == [] and sorted(fake.state.dedup_keys()) == [
        f"test:{T0 + i}" for i in range(3)
    ]
    assert elapsed >= 0.3  # the 429's retry_after was waited out (by the worker, not the caller)
    ch.close()
