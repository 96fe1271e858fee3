"""The catalogue: payload round trips, dedup keys, severities, attachments, rendering."""

from __future__ import annotations

import dataclasses
import json

import pytest
from notify_catalogue import EXAMPLES, PNG, T

from xsmom.errors import ConfigError, CorruptStateError
from xsmom.notify import CATALOGUE, render
from xsmom.notify import messages as m


def test_every_catalogue_kind_has_an_example() -> None:
    assert {type(x).kind for x, _, _ in EXAMPLES} == set(CATALOGUE)


@pytest.mark.parametrize(("message", "key", "severity"), EXAMPLES, ids=lambda x: str(x)[:30])
def test_payload_round_trips_through_json(message: m.Message, key: str, severity: str) -> None:
    payload = message.to_payload()
    text = json.dumps(payload, allow_nan=False)  # strict JSON: plain types only
    back = m.from_payload(json.loads(text))
    assert back == message
    assert (message.dedup_key, message.severity) == (key, severity)
    assert (payload["kind"], payload["dedup_key"], payload["severity"]) == (
        type(message).kind,
        key,
        severity,
    )
    assert payload["ts_event"] == message.ts_event and payload["ts_init"] == message.ts_init


def test_messages_are_immutable_and_keyword_only() -> None:
    msg = m.EngineStarted(ts_event=T, ts_init=T, run_id="r", mode="paper")
    with pytest.raises(dataclasses.FrozenInstanceError):
        msg.run_id = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        m.EngineStarted(T, T, "r", "paper")  # type: ignore[misc]


def test_dedup_key_ignores_when_the_message_was_made() -> None:
    a = m.StaleHeartbeatDetected(ts_event=T, ts_init=T, last_beat_ms=T - 1, threshold_s=60)
    b = m.StaleHeartbeatDetected(ts_event=T + 9, ts_init=T + 9, last_beat_ms=T - 1, threshold_s=60)
    assert a.dedup_key == b.dedup_key  # two health checks of one stale beat: one alert


def test_attachment_travels_as_base64_and_is_checked() -> None:
    att = m.Attachment(filename="equity.png", data=PNG)
    doc = att.to_payload()
    assert doc["content_type"] == "image/png" and "PNG" not in repr(att)
    assert m.Attachment.from_payload(json.loads(json.dumps(doc))).data == PNG
    with pytest.raises(ConfigError, match="plain file name"):
        m.Attachment(filename="../x.png", data=b"x")
    with pytest.raises(ConfigError, match="limit"):
        m.Attachment(filename="big.png", data=b"\0" * (m.MAX_ATTACHMENT_BYTES + 1))
    with pytest.raises(CorruptStateError, match="attachment"):
        m.Attachment.from_payload({"filename": "x.png", "data_b64": "not base64!"})


def test_bad_payloads_are_corrupt_state() -> None:
    with pytest.raises(CorruptStateError, match="unknown kind 'nope'"):
        m.from_payload({"kind": "nope"})
    with pytest.raises(CorruptStateError, match="engine_started"):
        m.from_payload({"kind": "engine_started", "ts_event": 1})


@pytest.mark.parametrize(("message", "key", "severity"), EXAMPLES, ids=lambda x: str(x)[:30])
def test_render_from_payload_equals_render_from_message(
    message: m.Message, key: str, severity: str
) -> None:
    r = render(message)
    assert r == render(message.to_payload())
    assert r.title and r.dedup_key == key and r.severity == severity
    # blue 2E86DE, orange F39C12, red E74C3C as decimal RGB
    assert r.colour == {"info": 3049182, "warning": 15965202, "critical": 15158332}[severity]
    assert key in r.text() and f"[{severity.upper()}]" in r.text()


def test_rendered_values_are_worked_out() -> None:
    fills = EXAMPLES[2][0]
    r = render(fills)
    assert r.title == "2 fills at bar 2026-01-01T00:00:00Z"
    assert dict((f.name, f.value) for f in r.fields) == {
        "notional": "1,234.50 USDT",
        "fees": "0.6100 USDT",
        "equity": "10,000.00 USDT",
    }
    stale = render(EXAMPLES[8][0])
    assert ("age", "600 s") in [(f.name, f.value) for f in stale.fields]
    daily = render(EXAMPLES[12][0])
    assert daily.image == "equity.png" and daily.attachments[0].data == PNG
    assert ("return", "-0.12 %") in [(f.name, f.value) for f in daily.fields]
    assert ("drawdown", "-1.50 %") in [(f.name, f.value) for f in daily.fields]


def test_non_finite_numbers_are_refused_at_construction() -> None:
    with pytest.raises(ValueError, match=r"daily_report\.sharpe_to_date must be a finite number"):
        m.DailyReportCreated(
            ts_event=T,
            ts_init=T,
            date="d",
            pnl=0.0,
            return_pct=0.0,
            equity=1.0,
            sharpe_to_date=float("nan"),
        )
    ok = m.DailyReportCreated(
        ts_event=T, ts_init=T, date="d", pnl=0.0, return_pct=0.0, equity=1.0, sharpe_to_date=None
    )
    json.dumps(ok.to_payload(), allow_nan=False)  # strict JSON, as the ledger stores it
    assert ("Sharpe to date", "n/a") in [(f.name, f.value) for f in render(ok).fields]
    with pytest.raises(ValueError, match=r"fills_summary\.fees"):
        m.FillsSummarized(ts_event=T, ts_init=T, bar_ms=T, fills=1, notional=1.0, fees=float("inf"))


@pytest.mark.parametrize("cls", list(CATALOGUE.values()), ids=lambda c: c.kind)
def test_key_fields_name_fields_of_the_event_and_level_is_a_severity(cls: type[m.Message]) -> None:
    names = {f.name for f in dataclasses.fields(cls)}
    assert set(cls.key_fields) <= names and "ts_init" not in cls.key_fields
    assert cls.level in ("info", "warning", "critical")
