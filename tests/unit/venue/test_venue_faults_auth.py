"""Fault plans, the fault injector, request signing and request weights."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from xsmom.errors import ConfigError
from xsmom.venue.auth import Credentials, WeightMeter, check_signed, sign, split_signature
from xsmom.venue.binance import ApiError
from xsmom.venue.faults import FaultInjector, load_plan, parse_plan

CREDS = Credentials("key", "s3cret")


def test_plan_rejects_unknown_keys_kinds_and_rates(tmp_path):
    with pytest.raises(ConfigError, match="unknown keys"):
        parse_plan({"sed": 1})
    with pytest.raises(ConfigError, match="unknown keys"):
        parse_plan({"endpoints": {"*": {"error_rat": 0.1}}})
    with pytest.raises(ConfigError, match="error kinds"):
        parse_plan({"endpoints": {"*": {"errors": [404]}}})
    with pytest.raises(ConfigError, match="reject"):
        parse_plan({"endpoints": {"*": {"reject": "nope"}}})
    with pytest.raises(ConfigError, match="rates"):
        parse_plan({"endpoints": {"*": {"error_rate": 1.5}}})
    bad = tmp_path / "f.yaml"
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_plan(bad)


def test_plan_reads_json_and_maintenance_windows(tmp_path):
    f = tmp_path / "f.json"
    f.write_text('{"maintenance": [{"start": "2025-01-01T00:00:00Z", "end": 1735693200000}]}')
    plan = load_plan(f)
    assert plan.maintenance == [(1735689600000, 1735693200000)]
    inj = FaultInjector(plan)
    assert inj.decide("GET", "/fapi/v1/time", 1735689600000).error == "maintenance"
    assert inj.decide("GET", "/fapi/v1/time", 1735693200000).error is None
    assert inj.decide("POST", "/admin/clock", 1735689600000).error is None


def test_injector_matches_most_specific_pattern_and_is_seeded():
    plan = parse_plan(
        {
            "seed": 5,
            "endpoints": {
                "POST /fapi/v1/order": {"reject_rate": 1.0, "reject": "price_filter"},
                "/fapi/v1/order": {"error_rate": 1.0, "errors": ["502"]},
                "*": {"latency_ms": 20, "error_rate": 0.5, "errors": ["429"], "retry_after": 4},
            },
        }
    )
    inj = FaultInjector(plan)
    d = inj.decide("POST", "/fapi/v1/order", 0)
    assert d.error == "reject" and d.reject == (-4014, "Price not increased by tick size.")
    assert inj.decide("GET", "/fapi/v1/order", 0).error == "502"
    seq = [inj.decide("GET", "/fapi/v1/klines", 0) for _ in range(50)]
    assert all(d.latency_s == pytest.approx(0.02) for d in seq)
    assert {d.error for d in seq} == {None, "429"}
    assert all(d.retry_after == 4 for d in seq)
    again = FaultInjector(plan)
    assert [again.decide("GET", "/fapi/v1/klines", 0).error for _ in range(50)] == [
        d.error for d in seq
    ]
    assert inj.counts["429"] + inj.counts["ok"] == 50


def test_drop_applies_only_where_configured():
    inj = FaultInjector(
        parse_plan({"endpoints": {"POST /fapi/v1/order": {"drop_response_rate": 1}}})
    )
    assert inj.decide("POST", "/fapi/v1/order", 0).error == "drop"
    assert inj.decide("GET", "/fapi/v1/order", 0).error is None


def test_signature_is_binance_hmac_sha256_of_query_and_body():
    payload = "symbol=BTCUSDT&side=BUY&timestamp=1000"
    expect = hmac.new(b"s3cret", payload.encode(), hashlib.sha256).hexdigest()
    assert sign(payload, "s3cret") == expect
    assert split_signature(payload + "&signature=abc", "") == (payload, "abc")
    assert split_signature("", payload + "&signature=abc") == (payload, "abc")
    assert split_signature("a=1", "b=2&signature=x") == ("a=1&b=2", "x")


def test_check_signed_codes():
    now = 1_000_000
    q = "timestamp=999000&recvWindow=5000"
    params = {"timestamp": "999000", "recvWindow": "5000"}
    check_signed(CREDS, "key", q + "&signature=" + sign(q, "s3cret"), "", params, now)
    cases = [
        ("other", q + "&signature=" + sign(q, "s3cret"), params, -2015),
        ("key", q + "&signature=" + sign(q, "wrong"), params, -1022),
        ("key", q, params, -1102),
    ]
    for key, query, p, code in cases:
        with pytest.raises(ApiError) as exc:
            check_signed(CREDS, key, query, "", p, now)
        assert exc.value.code == code
    stale = "timestamp=990000"
    with pytest.raises(ApiError) as exc:
        check_signed(
            CREDS,
            "key",
            stale + "&signature=" + sign(stale, "s3cret"),
            "",
            {"timestamp": "990000"},
            now,
        )
    assert exc.value.code == -1021
    assert "s3cret" not in repr(CREDS)


def test_weight_meter_rolls_over_after_a_minute():
    t = [0.0]
    meter = WeightMeter(limit=10, clock=lambda: t[0])
    assert meter.charge("a", 6) == 6
    assert meter.charge("b", 10) == 10  # per client
    with pytest.raises(ApiError) as exc:
        meter.charge("a", 5)
    assert exc.value.status == 429 and exc.value.headers["Retry-After"] == "61"
    t[0] = 60.0
    assert meter.charge("a", 5) == 5
