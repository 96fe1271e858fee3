"""Every key of the notify section acts: each one changes what the channels or delivery do."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import httpx
import pytest
from notify_catalogue import EXAMPLES, T

from xsmom.config import config_from_dict
from xsmom.config.keys import leaf_keys
from xsmom.config.notify import NotifyConfig
from xsmom.errors import ConfigError
from xsmom.notify import backoff_from, build_channels, enqueue, worker_from
from xsmom.notify.channel import SendResult
from xsmom.notify.fake_discord import FakeDiscord, FakeDiscordState
from xsmom.notify.render import render
from xsmom.notify.testing import MemoryOutbox

URL = "https://example.com/api/webhooks/1/abcdefghijklmnopqrstuvwxyz"
ENV = {"XSMOM_DISCORD_WEBHOOK_URL": URL, "XSMOM_NOTIFY_WEBHOOK_URL": URL + "/slack"}
TESTED = {
    "notify.discord.enabled",
    "notify.discord.url_file",
    "notify.discord.username",
    "notify.discord.min_severity",
    "notify.webhook.enabled",
    "notify.webhook.url_file",
    "notify.webhook.min_severity",
    "notify.console.enabled",
    "notify.console.min_severity",
    "notify.delivery.timeout_s",
    "notify.delivery.retry_base_s",
    "notify.delivery.retry_max_s",
    "notify.delivery.rate_limit_max_s",
    "notify.delivery.poll_s",
    "notify.delivery.batch",
}


def _cfg(doc: dict) -> NotifyConfig:  # type: ignore[type-arg]
    return config_from_dict({"notify": doc}).notify


def test_this_file_covers_every_notify_key() -> None:
    assert set(leaf_keys(NotifyConfig, "notify.")) == TESTED


def test_enabled_and_min_severity_choose_channels() -> None:
    assert [c.name for c in build_channels(_cfg({}), env=ENV)] == ["console"]
    cfg = _cfg(
        {
            "discord": {"enabled": True, "min_severity": "critical"},
            "webhook": {"enabled": True, "min_severity": "info"},
            "console": {"enabled": False},
        }
    )
    chans = build_channels(cfg, env=ENV)
    assert [(c.name, c.min_severity) for c in chans] == [
        ("discord", "critical"),
        ("webhook", "info"),
    ]
    box = MemoryOutbox()
    enqueue(box, EXAMPLES[0][0], chans, T)  # info: the webhook only
    assert [i.channel for i in box.pending()] == ["webhook"]
    console = build_channels(_cfg({"console": {"min_severity": "warning"}}), env={})
    assert enqueue(box, EXAMPLES[0][0], console, T) == 0


def test_url_file_and_username_reach_the_request(tmp_path: Path) -> None:
    url_file = tmp_path / "hook"
    url_file.write_text("https://example.org/api/webhooks/2/from-the-file-0123456789\n")
    os.chmod(url_file, 0o600)
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    cfg = _cfg(
        {
            "discord": {"enabled": True, "url_file": str(url_file), "username": "bot-7"},
            "webhook": {"enabled": True, "url_file": str(url_file)},
            "console": {"enabled": False},
        }
    )
    for ch in build_channels(cfg, env=ENV, transport=httpx.MockTransport(record)):
        assert ch.send(render(EXAMPLES[1][0])).ok
    assert [r.url.host for r in seen] == ["example.org", "example.org"]
    assert json.loads(seen[0].content)["username"] == "bot-7"


def test_a_username_discord_refuses_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"notify\.discord\.username.*'discord' or 'clyde'"):
        _cfg({"discord": {"username": "My Discord bot"}})
    with pytest.raises(ConfigError, match=r"notify\.discord\.username"):
        _cfg({"discord": {"username": "x" * 81}})


def test_timeout_s_bounds_one_send() -> None:
    with FakeDiscord(FakeDiscordState(delay_s=1.0)) as fake:
        env = {"XSMOM_DISCORD_WEBHOOK_URL": fake.url}
        fast = _cfg({"discord": {"enabled": True}, "delivery": {"timeout_s": 0.2}})
        (ch, _) = build_channels(fast, env=env)
        started = time.monotonic()
        result = ch.send(render(EXAMPLES[0][0]))
        assert time.monotonic() - started < 0.9
        assert result.outcome == "retry" and "Timeout" in result.detail
        (slow, _) = build_channels(_cfg({"discord": {"enabled": True}}), env=env)
        assert slow.send(render(EXAMPLES[0][0])).ok
        for c in (ch, slow):
            c.close()


def test_retry_keys_set_the_backoff() -> None:
    b = backoff_from(
        _cfg({"delivery": {"retry_base_s": 5, "retry_max_s": 30, "rate_limit_max_s": 60}})
    )
    fail = SendResult(outcome="retry", status=503)
    assert [b.delay_ms(n, fail) for n in range(4)] == [5_000, 10_000, 20_000, 30_000]
    assert b.delay_ms(0, SendResult(outcome="retry", status=429, retry_after_s=100)) == 60_000


def test_batch_and_poll_s_pace_the_worker() -> None:
    box = MemoryOutbox()
    lines: list[str] = []
    chans = build_channels(_cfg({}), env={}, echo=lines.append)
    for i in range(5):
        enqueue(
            box, EXAMPLES[0][0].__class__(ts_event=i, ts_init=i, run_id=f"r{i}", mode="p"), chans, T
        )
    worker = worker_from(_cfg({"delivery": {"batch": 2}}), box, chans, clock=lambda: T)
    assert worker.run_once().sent == 2 and len(box.pending()) == 3
    slow = worker_from(_cfg({"delivery": {"poll_s": 3600}}), box, chans, clock=lambda: T)
    fast = worker_from(_cfg({"delivery": {"poll_s": 0.01}}), MemoryOutbox(), chans)
    slow.start()
    fast.start()
    time.sleep(0.3)
    assert slow.stop() and fast.stop()
    assert slow.passes == 1 and fast.passes >= 5
