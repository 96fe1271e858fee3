"""Backoff with jitter (fake sleep), the token bucket (fake clock), clock sync and drift."""

from __future__ import annotations

import random
import time

import pytest

from xsmom import errors as xe
from xsmom.exchange.breaker import BreakerConfig, BreakerState, CircuitBreaker
from xsmom.exchange.clock import ClockSync, FakeClock
from xsmom.exchange.ratelimit import TokenBucket
from xsmom.exchange.retry import Retrier, RetryPolicy


class Flaky:
    """Fail with ``errors`` in turn, then return 'ok'."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_backoff_grows_exponentially_within_jitter_bounds() -> None:
    slept: list[float] = []
    policy = RetryPolicy(max_attempts=5, base_delay=1.0, multiplier=2.0, max_delay=5.0, jitter=0.5)
    r = Retrier(policy, sleep=slept.append, rng=random.Random(1))
    fn = Flaky(*(xe.NetworkError("x") for _ in range(4)))
    assert r.call(fn) == "ok"
    assert fn.calls == 5
    caps = [1.0, 2.0, 4.0, 5.0]  # capped at max_delay
    assert len(slept) == 4
    for delay, cap in zip(slept, caps, strict=True):
        assert cap * 0.5 <= delay <= cap


def test_jitter_differs_between_seeds_and_is_reproducible() -> None:
    def delays(seed: int) -> list[float]:
        slept: list[float] = []
        r = Retrier(RetryPolicy(max_attempts=4), sleep=slept.append, rng=random.Random(seed))
        r.call(Flaky(*(xe.NetworkError("x") for _ in range(3))))
        return slept

    assert delays(3) == delays(3)
    assert delays(3) != delays(4)


def test_retry_after_is_a_floor() -> None:
    slept: list[float] = []
    r = Retrier(RetryPolicy(base_delay=0.1), sleep=slept.append, rng=random.Random(0))
    r.call(Flaky(xe.RateLimitError("429", retry_after=9.0)))
    assert slept == [9.0]


@pytest.mark.parametrize(
    "err", [xe.InvalidOrderError("x"), xe.AuthenticationError("x"), ValueError("x")]
)
def test_non_retryable_errors_are_not_retried(err: Exception) -> None:
    slept: list[float] = []
    fn = Flaky(err)
    with pytest.raises(type(err)):
        Retrier(sleep=slept.append).call(fn)
    assert fn.calls == 1 and slept == []


def test_gives_up_after_max_attempts_with_the_last_error() -> None:
    slept: list[float] = []
    fn = Flaky(*(xe.ExchangeUnavailableError(f"e{i}") for i in range(10)))
    seen: list[int] = []
    with pytest.raises(xe.ExchangeUnavailableError, match="e2"):
        Retrier(RetryPolicy(max_attempts=3), sleep=slept.append).call(
            fn, on_retry=lambda n, _e, _d: seen.append(n)
        )
    assert fn.calls == 3 and len(slept) == 2 and seen == [1, 2]


def test_policy_validation() -> None:
    with pytest.raises(xe.ConfigError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(xe.ConfigError):
        RetryPolicy(jitter=2.0)


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s


def test_token_bucket_never_exceeds_rate() -> None:
    t = FakeTime()
    bucket = TokenBucket(5.0, burst=5.0, clock=t.clock, sleep=t.sleep)
    for _ in range(55):
        bucket.acquire()
    # 5 from the initial burst, then 50 at 5/s -> 10 s
    assert t.now == pytest.approx(10.0)
    assert bucket.waited == pytest.approx(10.0)


def test_token_bucket_refills_while_idle() -> None:
    t = FakeTime()
    bucket = TokenBucket(2.0, burst=2.0, clock=t.clock, sleep=t.sleep)
    assert bucket.acquire() == 0.0 and bucket.acquire() == 0.0
    t.now += 1.0  # two tokens back
    assert bucket.acquire() == 0.0 and bucket.acquire() == 0.0
    assert bucket.acquire() == pytest.approx(0.5)


def test_token_bucket_rejects_bad_config() -> None:
    with pytest.raises(xe.ConfigError):
        TokenBucket(0)
    with pytest.raises(xe.ConfigError):
        TokenBucket(1.0, burst=1.0).acquire(cost=2.0)


def test_clock_offset_is_measured_at_the_round_trip_midpoint() -> None:
    local = iter([1_000, 1_100, 1_200])
    sync = ClockSync(lambda: 5_000, local_ms=lambda: next(local), max_drift_ms=10_000, samples=1)
    sample = sync.measure()
    assert sample.offset_ms == 5_000 - 1_050 and sample.rtt_ms == 100 and sample.error_ms == 50
    assert sync.server_ms() == 1_200 + 3_950


class ScriptedVenue:
    """Local time advances by each answer's round trip; the venue stamps on arrival."""

    def __init__(self, skew_ms: int, rtts: list[int]) -> None:
        self.now = 1_000_000
        self.skew_ms = skew_ms
        self.rtts = list(rtts)

    def local(self) -> int:
        return self.now

    def fetch(self) -> int:
        stamp = self.now + self.skew_ms  # read at arrival, then the answer is slow
        self.now += self.rtts.pop(0) if self.rtts else 2
        return stamp


def test_the_lowest_round_trip_sample_wins_ntp_style() -> None:
    v = ScriptedVenue(skew_ms=300, rtts=[2_500, 40, 10, 900, 30])
    sync = ClockSync(v.fetch, local_ms=v.local, max_drift_ms=1_000)
    s = sync.measure()
    assert (s.offset_ms, s.rtt_ms, s.error_ms, s.samples, s.good) == (295, 10, 5, 5, True)


def test_one_slow_answer_no_longer_stops_trading() -> None:
    # the old single-sample sync read this as a 1250 ms drift and refused for 10 minutes
    v = ScriptedVenue(skew_ms=0, rtts=[2_500])
    single = ClockSync(v.fetch, local_ms=v.local, max_drift_ms=1_000, samples=1).measure()
    assert single.offset_ms == -1_250  # the old verdict: |offset| > 1000, refused
    assert not single.drift_beyond(1_000)  # with its error bound it proves nothing
    v = ScriptedVenue(skew_ms=0, rtts=[2_500])
    assert abs(ClockSync(v.fetch, local_ms=v.local).ensure_synced().offset_ms) <= 1


def test_only_slow_answers_cannot_prove_drift() -> None:
    v = ScriptedVenue(skew_ms=0, rtts=[2_500] * 5)
    s = ClockSync(v.fetch, local_ms=v.local, max_drift_ms=1_000).ensure_synced()
    assert s.offset_ms == -1_250 and s.error_ms == 1_250 and not s.good


def test_a_slow_measurement_keeps_the_earlier_good_offset() -> None:
    v = ScriptedVenue(skew_ms=200, rtts=[10] * 5 + [3_000] * 5)
    sync = ClockSync(v.fetch, local_ms=v.local)
    first = sync.measure()
    assert sync.measure() is first and sync.offset_ms == 195


def test_a_reliable_drift_is_fatal_even_with_slow_answers() -> None:
    v = ScriptedVenue(skew_ms=5_000, rtts=[1_200] * 5)
    with pytest.raises(xe.ClockDriftError, match=r"4400 ms \(\+- 600 ms, best of 5"):
        ClockSync(v.fetch, local_ms=v.local, max_drift_ms=1_000).ensure_synced()


def test_lost_samples_are_skipped_and_all_lost_is_retryable() -> None:
    v = ScriptedVenue(skew_ms=100, rtts=[10] * 5)
    calls = {"n": 0}

    def flaky() -> int:
        calls["n"] += 1
        if calls["n"] % 2:
            raise xe.NetworkError("lost")
        return v.fetch()

    assert ClockSync(flaky, local_ms=v.local).measure().samples == 2

    def dead() -> int:
        raise xe.RequestTimeoutError("timeout")

    with pytest.raises(xe.RequestTimeoutError):
        ClockSync(dead, local_ms=v.local).measure()


def test_clock_drift_refusal_is_measured_again_and_resyncs_when_stale() -> None:
    now = {"t": 0}
    server = {"skew": 5_000}
    sync = ClockSync(
        lambda: now["t"] + server["skew"],
        local_ms=lambda: now["t"],
        max_drift_ms=1_000,
        resync_every_ms=60_000,
    )
    with pytest.raises(xe.ClockDriftError, match="5000 ms"):
        sync.ensure_synced()
    server["skew"] = 200  # fixed: a refusal is never cached
    assert sync.ensure_synced().offset_ms == 200
    server["skew"] = 300
    assert sync.ensure_synced().offset_ms == 200  # a good sample is kept until stale
    now["t"] = 60_000
    assert sync.ensure_synced().offset_ms == 300


def test_token_bucket_and_breaker_run_on_an_injected_clock_without_waiting() -> None:
    fake = FakeClock(start_ms=5_000)
    real_start = time.monotonic()
    bucket = TokenBucket(5.0, burst=5.0, clock=fake)
    for _ in range(55):
        bucket.acquire()
    assert fake.monotonic_ms() == 10_000 and sum(fake.slept) == pytest.approx(10.0)
    cfg = BreakerConfig(min_calls=2, failure_rate=0.1, cooldown_ms=60_000, window_ms=1_000_000)
    breaker = CircuitBreaker(cfg, clock=fake)
    breaker.record(False)
    breaker.record(False)
    assert breaker.state is BreakerState.OPEN
    assert breaker.status().opened_at == fake.wall_ms()  # shown as wall time
    fake.advance(59_999)
    assert breaker.state is BreakerState.OPEN
    fake.advance(1)
    assert breaker.state is BreakerState.HALF_OPEN
    assert time.monotonic() - real_start < 1.0  # 70 fake seconds, no real wait
