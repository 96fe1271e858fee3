"""``xsmom notify test`` as a user runs it (subprocess) against the local fake Discord."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_run import run_xsmom
from xsmom.notify.fake_discord import FakeDiscord


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord() as server:
        yield server


def run(
    *args: str, env: dict[str, str] | None = None, verbose: bool = False
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("XSMOM_")}
    pre = ["-vv"] if verbose else []
    return run_xsmom(*pre, "notify", "test", *args, env={**clean, **(env or {})}, timeout=120)


def _config(tmp_path: Path, notify: str) -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_text(f"notify:\n{notify}", encoding="utf-8")
    return path


def _no_secret(fake: FakeDiscord, proc: subprocess.CompletedProcess[str]) -> None:
    out = proc.stdout + proc.stderr
    assert fake.state.token not in out and fake.state.webhook_id not in out


def test_sends_to_every_channel_and_says_what_happened(fake: FakeDiscord, tmp_path: Path) -> None:
    cfg = _config(tmp_path, "  discord:\n    enabled: true\n")
    env = {"XSMOM_DISCORD_WEBHOOK_URL": fake.url}
    proc = run("--config", str(cfg), env=env, verbose=True)  # -vv: httpx logs each request
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["discord   ok (HTTP 200)", "console   ok"]
    assert "[notify] [INFO] Test message" in proc.stderr
    assert "httpx: HTTP Request: POST ***?wait=true" in proc.stderr
    assert [k.split(":")[0] for k in fake.state.dedup_keys()] == ["test"]
    _no_secret(fake, proc)


def test_failures_are_reported_per_channel_without_the_url(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    cfg = _config(tmp_path, "  discord:\n    enabled: true\n")
    fake.state.down = True
    proc = run("--config", str(cfg), env={"XSMOM_DISCORD_WEBHOOK_URL": fake.url})
    assert proc.returncode == 2
    assert proc.stdout.splitlines()[0] == "discord   retry: HTTP 503; Service Unavailable (code 0)"
    assert proc.stderr.splitlines()[-1] == (
        "error: 1 of 2 channel(s) did not take the test message"
    )
    _no_secret(fake, proc)
    fake.state.down = False
    wrong = fake.url.replace(fake.state.token, "not-the-token-0123456789")
    proc = run("--config", str(cfg), env={"XSMOM_DISCORD_WEBHOOK_URL": wrong})
    line = "discord   permanent: HTTP 401; Invalid Webhook Token (code 50027)"
    assert proc.stdout.splitlines()[0] == line
    assert "not-the-token" not in proc.stdout + proc.stderr


def test_unreachable_webhook_is_a_scrubbed_network_error(tmp_path: Path) -> None:
    with FakeDiscord() as gone:
        url, token = gone.url, gone.state.token
    cfg = _config(tmp_path, "  discord:\n    enabled: true\n  console:\n    enabled: false\n")
    proc = run("--config", str(cfg), env={"XSMOM_DISCORD_WEBHOOK_URL": url})
    assert proc.returncode == 2
    assert proc.stdout.startswith("discord   retry: ConnectError")
    assert token not in proc.stdout + proc.stderr


def test_a_readable_url_file_and_a_missing_url_are_one_line_errors(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    url_file = tmp_path / "discord.url"
    url_file.write_text(fake.url + "\n", encoding="utf-8")
    os.chmod(url_file, 0o644)
    cfg = _config(tmp_path, f"  discord:\n    enabled: true\n    url_file: {url_file}\n")
    proc = run("--config", str(cfg))
    assert proc.returncode == 2
    assert proc.stderr == (
        f"error: webhook URL file {url_file} has mode 0644; "
        f"refusing it: run `chmod 600 {url_file}`\n"
    )
    _no_secret(fake, proc)
    os.chmod(url_file, 0o600)
    assert run("--config", str(cfg)).returncode == 0
    bare = _config(tmp_path, "  discord:\n    enabled: true\n")
    proc = run("--config", str(bare))
    assert proc.stderr == (
        "error: notify.discord.enabled is true but no URL: set XSMOM_DISCORD_WEBHOOK_URL "
        "or notify.discord.url_file\n"
    )
    none = _config(tmp_path, "  console:\n    enabled: false\n")
    assert (
        run("--config", str(none)).stderr
        == "error: no notification channel is enabled in notify:\n"
    )
