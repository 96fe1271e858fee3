"""Webhook URLs: from env or a 0600 file, refused when readable by others, never shown."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import httpx
import pytest

from xsmom import redaction
from xsmom.config.notify import NotifyConfig
from xsmom.errors import ConfigError
from xsmom.notify import DiscordChannel, NotificationTested, WebhookUrl, build_channels, render
from xsmom.notify.secrets import DISCORD_ENV, WEBHOOK_ENV, load_url, read_url_file

TOKEN = "SeCrEt-token-0123456789abcdefghijklmnopqrstuvwxyz"
URL = f"https://discord.com/api/webhooks/987654321098765432/{TOKEN}"


def _file(tmp_path: Path, text: str, mode: int) -> Path:
    p = tmp_path / "discord.url"
    p.write_text(text, encoding="utf-8")
    os.chmod(p, mode)
    return p


def test_repr_str_and_redaction() -> None:
    url = WebhookUrl(URL)
    assert repr(url) == str(url) == f"{url!s}" == "WebhookUrl(***)"
    assert url.reveal() == URL
    text = f"POST {URL}?wait=true failed; token {TOKEN}; path /api/webhooks/987654321098765432"
    clean = url.redact(text)
    assert TOKEN not in clean and "987654321098765432" not in clean
    assert clean.startswith("POST ***")


def test_only_https_except_on_loopback() -> None:
    with pytest.raises(ConfigError, match="https") as info:
        WebhookUrl(f"http://discord.com/api/webhooks/1/{TOKEN}")
    assert TOKEN not in str(info.value)
    assert WebhookUrl(f"http://127.0.0.1:9/api/webhooks/1/{TOKEN}").reveal().startswith("http:")
    with pytest.raises(ConfigError, match="https"):
        WebhookUrl(TOKEN)


def test_file_must_be_private(tmp_path: Path) -> None:
    p = _file(tmp_path, f"# my webhook\n\n{URL}\n", 0o644)
    with pytest.raises(ConfigError, match="mode 0644; refusing it: run `chmod 600") as info:
        read_url_file(p)
    assert "webhook URL file" in str(info.value) and TOKEN not in str(info.value)
    os.chmod(p, 0o600)
    assert read_url_file(p).reveal() == URL
    os.chmod(p, 0o640)
    with pytest.raises(ConfigError, match="0640"):
        read_url_file(p)
    with pytest.raises(ConfigError, match="cannot read webhook URL file"):
        read_url_file(tmp_path / "missing")
    empty = _file(tmp_path, "# nothing\n", 0o600)
    with pytest.raises(ConfigError, match="holds no URL"):
        read_url_file(empty)


def test_file_wins_over_env_and_env_is_the_fallback(tmp_path: Path) -> None:
    p = _file(tmp_path, URL, 0o600)
    other = URL.replace("987654321098765432", "111111111111111111")
    assert load_url(DISCORD_ENV, p, {DISCORD_ENV: other}) == WebhookUrl(URL)
    assert load_url(DISCORD_ENV, None, {DISCORD_ENV: other}) == WebhookUrl(other)
    assert load_url(DISCORD_ENV, None, {}) is None


def test_enabled_channel_without_url_is_a_config_error() -> None:
    cfg = NotifyConfig.model_validate({"discord": {"enabled": True}})
    with pytest.raises(ConfigError, match=f"set {DISCORD_ENV} or notify.discord.url_file"):
        build_channels(cfg, env={})
    cfg = NotifyConfig.model_validate({"webhook": {"enabled": True}})
    with pytest.raises(ConfigError, match=WEBHOOK_ENV):
        build_channels(cfg, env={})


def test_logs_and_reprs_never_show_the_url(caplog: pytest.LogCaptureFixture) -> None:
    url = WebhookUrl(URL)
    ch = DiscordChannel(url, transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    assert TOKEN not in repr(ch)
    logger = logging.getLogger("test.notify.secrets")
    logger.addFilter(redaction.RedactingFilter(url.parts()))
    with caplog.at_level(logging.INFO, logger="test.notify.secrets"):
        logger.info("posting to %s", URL)
        try:
            raise RuntimeError(f"failed at {URL}")
        except RuntimeError:
            logger.exception("boom")
    assert TOKEN not in caplog.text
    # one pass, longest first: the whole URL goes, not its token leaving the rest behind
    assert "posting to ***" in caplog.text and "/api/webhooks" not in caplog.text
    assert all(TOKEN not in (r.exc_text or "") for r in caplog.records)


def test_httpx_request_logs_are_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    url = URL.replace("987654321098765432", "222222222222222222")
    ch = DiscordChannel(
        WebhookUrl(url), transport=httpx.MockTransport(lambda r: httpx.Response(204))
    )
    with caplog.at_level(logging.DEBUG):
        assert ch.send(render(NotificationTested(ts_event=1, ts_init=1))).ok
    assert "HTTP Request: POST " in caplog.text and "***" in caplog.text  # httpx: INFO
    assert TOKEN not in caplog.text and "222222222222222222" not in caplog.text
    DiscordChannel(WebhookUrl(url), transport=httpx.MockTransport(lambda r: httpx.Response(204)))
    guards = [
        f for f in logging.getLogger("httpx").filters if isinstance(f, redaction.RedactingFilter)
    ]
    assert len(guards) == 1  # one shared filter, however many channels


def test_overlapping_secrets_of_two_urls_are_removed_whole() -> None:
    from xsmom.notify.secrets import guard_library_logs

    a = WebhookUrl("https://hooks.example.com/services/T0AAAA1111/B0BBBB2222/zyxwvutsrqponmlk")
    b = WebhookUrl(f"https://discord.com/api/webhooks/3/{TOKEN}zyxwvutsrqponmlk")
    guard_library_logs(a)
    guard_library_logs(b)
    text = f"POST {b.reveal()}?wait=true and {TOKEN}zyxwvutsrqponmlk"
    assert redaction.redact(text) == "POST ***?wait=true and ***"
    assert a.redact(text) == b.redact(text) == "POST ***?wait=true and ***"
