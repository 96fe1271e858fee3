"""Every ``xsmom`` command, run at ``-vv`` (and the exchange check at ``-vvv``) with API keys
set, never prints a key or a secret: stdout, stderr and every file it writes are searched.

The list of commands comes from the CLI itself; a command without a recipe here fails the
test, so a new command cannot skip the check. The venue runs on 127.0.0.1 with the same
keys, so the exchange check authenticates and ccxt really signs requests.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cli_walk import leaf_paths

from xsmom.data.bundled import sample_store
from xsmom.exchange import ManualClock, OrderRequest, OrderSide, PaperExchange, StoreMarketData
from xsmom.notify.fake_discord import FakeDiscord, FakeDiscordState
from xsmom.venue.testing import RunningVenue, start_venue

pytestmark = pytest.mark.slow

KEY = "xsK3yLogProbe7d1f0c2b9a64e5"
SECRET = "xsS3cretLogProbe5e8a4c1d0f7b"
FILE_KEY = "xsFileKeyProbe3c9d2e7a1b0f"
FILE_SECRET = "xsFileSecretProbe8b1e4d6a2c"
HOOK_TOKEN = "xsHookTokenProbe4f2a9c7e1d3b"
PROBES = (KEY, SECRET, FILE_KEY, FILE_SECRET, HOOK_TOKEN)
START = "2025-06-01"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@dataclass
class Session:
    tmp: Path
    venue: RunningVenue
    outputs: list[tuple[str, str]] = field(default_factory=list)

    def env(self, *, keys: bool = True) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("XSMOM_")}
        if keys:
            clean.update(
                XSMOM_BINANCEUSDM_API_KEY=KEY,
                XSMOM_BINANCEUSDM_API_SECRET=SECRET,
                XSMOM_VENUE_API_KEY=KEY,
                XSMOM_VENUE_API_SECRET=SECRET,
            )
        return clean

    def run(
        self,
        *args: str,
        verbosity: str = "-vv",
        keys: bool = True,
        ok: tuple[int, ...] = (0,),
        extra_env: dict[str, str] | None = None,
    ) -> str:
        cmd = [sys.executable, "-m", "xsmom.cli.main", verbosity, *args]
        env = {**self.env(keys=keys), **(extra_env or {})}
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
        self.outputs.append((f"{verbosity} {' '.join(args)}", out.stdout + out.stderr))
        assert out.returncode in ok, f"{args}: {out.stderr[-2000:]}"
        return out.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _venue_serve(s: Session) -> None:
    port = _free_port()
    cmd = [sys.executable, "-m", "xsmom.cli.main", "-vv", "venue", "serve", "--store", "sample"]
    cmd += ["--port", str(port), "--speed", "0", "--start", START]
    proc = subprocess.Popen(
        cmd, env=s.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("venue: "), first
        s.run("exchange", "check", "--venue-url", f"http://127.0.0.1:{port}")
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=60)
    s.outputs.append(("-vv venue serve", first + rest + err))


def _paper_status(s: Session) -> None:
    clock = ManualClock(1_748_736_000_000)
    src = StoreMarketData(sample_store(), clock, symbols=["BTC/USDT:USDT"])
    paper = PaperExchange(src, s.tmp / "paper.json", clock)
    paper.place_order(OrderRequest.market("BTC/USDT:USDT", OrderSide.BUY, 0.01, "m-1"))
    paper.close()
    s.run("exchange", "paper-status", str(s.tmp / "paper.json"))


def _check_with_key_file(s: Session) -> None:
    # keys only in a file (not in the environment), ccxt's own debug on: -vvv
    path = s.tmp / "keys.json"
    path.write_text(json.dumps({"api_key": FILE_KEY, "api_secret": FILE_SECRET}))
    path.chmod(0o600)
    url = s.venue.url
    cmd = ["exchange", "check", "--venue-url", url, "--keys-file", str(path)]
    proc = subprocess.run(
        [sys.executable, "-m", "xsmom.cli.main", "-vvv", *cmd],
        env=s.env(keys=False),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # the venue does not know these keys: a clean one-line refusal, keys masked
    assert proc.returncode == 2 and proc.stderr.rstrip().splitlines()[-1].startswith("error: ")
    assert "DEBUG ccxt" in proc.stderr  # the library's debug really ran
    s.outputs.append(("-vvv exchange check --keys-file", proc.stdout + proc.stderr))
    s.run("exchange", "check", "--venue-url", url, verbosity="-vvv")


def _config(s: Session) -> None:
    (s.tmp / "a.yaml").write_text("costs:\n  taker_fee_bps: 6\n")
    (s.tmp / "b.yaml").write_text("{}\n")
    s.run("config", "validate", str(s.tmp / "a.yaml"))
    s.run("config", "show", str(s.tmp / "a.yaml"))
    s.run("config", "diff", str(s.tmp / "a.yaml"), str(s.tmp / "b.yaml"))


def _data(s: Session) -> None:
    src = SHARED / "ohlcv" / "freqtrade_testdata" / "futures"
    if not src.is_dir():
        pytest.fail(f"real market data not found at {src} (expected ../shared/data)")
    store = str(s.tmp / "store")
    s.run("data", "import", str(src), "--store", store)
    s.run("data", "list", "--store", store)
    s.run("data", "validate", "--store", store, ok=(0, 2))  # freqtrade's data has funding gaps
    dl = ["data", "download", "--store", str(s.tmp / "dl"), "--symbols", "BTC/USDT:USDT"]
    s.run(*dl, "--since", "2025-05-28", "--api-base", s.venue.url, "--no-progress")


def _research(s: Session) -> None:
    hist = str(s.tmp / "configs")
    s.run("backtest", "--store", "sample", "--start", "2026-03-01", "--out", str(s.tmp / "bt"))
    s.run(
        "optimize",
        "--store",
        "sample",
        "--trials",
        "1",
        "--out",
        str(s.tmp / "opt"),
        "--no-progress",
        "--history",
        hist,
        ok=(0, 3),
    )  # fmt: skip  (3: the gate rejected the candidate)
    s.run("config", "history", "--history", hist)
    s.run("cycle", "--store", "sample", "--trials", "1", "--state", str(s.tmp / "state"))


def _ledger(s: Session) -> None:
    from xsmom.ledger import open_home_ledger

    home = s.tmp / "home"
    home.mkdir()
    open_home_ledger(home).close()
    s.run("ledger", "info", "--home", str(home))
    s.run("ledger", "export", "--home", str(home), "--out", str(s.tmp / "export"))
    s.run("ledger", "backup", "--home", str(home), "--out", str(s.tmp / "ledger-backup.sqlite"))


def _meta(s: Session) -> None:
    models = s.tmp / "models"
    s.run(
        "meta", "train", "--store", "sample", "--out", str(models), "--start", "2025-06-01",
        "--end", "2025-10-01", "--model", "logistic", "--cv-folds", "3",
    )  # fmt: skip
    (model,) = models.glob("meta-*")
    s.run("meta", "report", str(model))
    s.run(
        "meta",
        "compare",
        str(model),
        "--store",
        "sample",
        "--start",
        "2025-06-01",
        "--end",
        "2025-10-01",
        ok=(0, 2),
    )  # fmt: skip  (2: a model with no walk-forward folds may be refused in one line)


def _posted(s: Session, name: str, hook: FakeDiscord) -> None:
    # what reached the channel is output too: every embed, field and attached file
    with hook.state.lock:
        for p in hook.state.accepted:
            files = b"".join(p.files.values()).decode("utf-8", "replace")
            s.outputs.append((name, json.dumps(p.payload) + p.query + files))


def _notify(s: Session) -> None:
    cfg = s.tmp / "notify.yaml"
    cfg.write_text("notify:\n  discord:\n    enabled: true\n")
    with FakeDiscord(FakeDiscordState(token=HOOK_TOKEN)) as hook:
        for verbosity in ("-vv", "-vvv"):  # -vvv: httpx and httpcore at debug, URL in hand
            s.run(
                "notify",
                "test",
                "--config",
                str(cfg),
                verbosity=verbosity,
                extra_env={"XSMOM_DISCORD_WEBHOOK_URL": hook.url},
            )
        assert len(hook.state.accepted) == 2
        _posted(s, "-vv notify test (posted)", hook)


def _rollout(s: Session) -> None:
    from xsmom.config import config_from_dict, version_id
    from xsmom.ledger import open_home_ledger
    from xsmom.rollout import ensure_active

    home = s.tmp / "rollout-home"
    home.mkdir()
    with open_home_ledger(home) as led:  # the engine's first start
        ensure_active(led, config_from_dict({"name": "live"}), now_ms=1_748_736_000_000)
    (s.tmp / "candidate.yaml").write_text("name: candidate\n")
    vid = version_id(config_from_dict({"name": "candidate"}))[:12]
    opts = ["--home", str(home), "--store", "sample"]
    s.run("rollout", "submit", str(s.tmp / "candidate.yaml"), *opts)
    s.run("rollout", "status", "--json", *opts)
    s.run("rollout", "promote", vid, *opts)
    s.run("rollout", "rollback", vid, *opts)
    s.run("rollout", "history", *opts)


def _live(s: Session) -> None:
    cfg = s.tmp / "live.yaml"
    cfg.write_text(
        "data:\n  symbols: [BTC/USDT:USDT]\n"
        "live:\n  execution:\n    quote_source: last\n  engine:\n    warmup_bars: 50\n"
        "notify:\n  discord:\n    enabled: true\n"
    )
    home = str(s.tmp / "bot")
    url = s.venue.url
    with FakeDiscord(FakeDiscordState(token=HOOK_TOKEN)) as hook:
        hook_env = {"XSMOM_DISCORD_WEBHOOK_URL": hook.url}
        live = ["live", "--config", str(cfg), "--home", home, "--venue", url, "--max-bars", "1"]
        s.run(*live, extra_env=hook_env)
        assert hook.state.accepted, "the live run notified nothing: the check saw no message"
        _posted(s, "-vv live (posted)", hook)
    s.run("status", "--home", home, "--json")
    s.run("health", "--home", home, ok=(0, 1))
    s.run("stop", "--home", home)
    s.run("resume", "--home", home)
    s.run("notify", "outbox", "--home", home)


def _report(s: Session) -> None:
    from xsmom.ledger import default_url, open_ledger

    home = s.tmp / "report-home"
    home.mkdir()
    with open_ledger(default_url(home)) as led, led.transaction() as tx:
        for h in (1, 2):  # 2026-01-01 01:00 and 02:00 UTC
            ts = 1_767_225_600_000 + h * 3_600_000
            tx.record_equity(ts=ts, equity=1000.0 + h, wallet=1000.0, unrealized=float(h))
    s.run("report", "daily", "--home", str(home), "--date", "2026-01-01")


# command path -> the step that runs it (a step may run several commands)
RECIPES: dict[str, Callable[[Session], None]] = {
    "backtest": _research,
    "optimize": _research,
    "cycle": _research,
    "config history": _research,
    "config validate": _config,
    "config show": _config,
    "config diff": _config,
    "data import": _data,
    "data list": _data,
    "data validate": _data,
    "data download": _data,
    "exchange check": _check_with_key_file,
    "exchange paper-status": _paper_status,
    "venue serve": _venue_serve,
    "ledger info": _ledger,
    "ledger export": _ledger,
    "ledger backup": _ledger,
    "meta train": _meta,
    "meta report": _meta,
    "meta compare": _meta,
    "notify test": _notify,
    "rollout submit": _rollout,
    "rollout status": _rollout,
    "rollout promote": _rollout,
    "rollout rollback": _rollout,
    "rollout history": _rollout,
    "live": _live,
    "status": _live,
    "health": _live,
    "stop": _live,
    "resume": _live,
    "notify outbox": _live,
    "report daily": _report,
}


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    tmp = tmp_path_factory.mktemp("secrets")
    with start_venue(
        "sample", start=START, speed=0.0, symbols=["BTC/USDT:USDT"], api_key=KEY, api_secret=SECRET
    ) as rv:
        yield Session(tmp=tmp, venue=rv)


def test_every_command_has_a_recipe() -> None:
    missing = {" ".join(p) for p in leaf_paths()} - set(RECIPES)
    assert not missing, f"add a -vv secrets recipe for: {sorted(missing)}"


def test_no_command_prints_or_writes_a_key_or_secret(session: Session) -> None:
    for step in dict.fromkeys(RECIPES.values()):  # each step once, in order
        step(session)
    ran = {name for name, _ in session.outputs}
    for command in RECIPES:
        assert any(f" {command}" in name for name in ran), f"{command} did not run"
    for name, text in session.outputs:
        for probe in PROBES:
            assert probe not in text, f"{name} printed {probe[:6]}..."
            assert probe[:12] not in text, f"{name} printed part of {probe[:6]}..."
    assert any("DEBUG xsmom" in text for _, text in session.outputs)  # -vv reached debug
    for name, text in session.outputs:  # ... and libraries stayed at INFO unless -vvv
        if name.startswith("-vv "):
            assert "DEBUG ccxt" not in text and "DEBUG urllib3" not in text, name
    for path in session.tmp.rglob("*"):
        if path.is_file() and path.name != "keys.json":
            data = path.read_bytes()
            for probe in PROBES:
                assert probe.encode() not in data, f"{path} holds {probe[:6]}..."
