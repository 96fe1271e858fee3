"""``xsmom venue serve`` answers bad inputs with one line on stderr and exit code 2, never a
traceback. Run through the console entry point (``xsmom.cli.main.main``) in this process; every
case but the port ones also names a port that is busy, so a check that failed to fire would
end in the port error instead of serving forever."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from xsmom.cli.main import main


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def run(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    monkeypatch.setenv("XSMOM_VENUE_API_KEY", "k")
    monkeypatch.setenv("XSMOM_VENUE_API_SECRET", "s")
    monkeypatch.setattr(sys, "argv", ["xsmom", "venue", "serve", *args])
    with pytest.raises(SystemExit) as done:
        main()
    out, err = capsys.readouterr()
    assert out == ""
    return int(done.value.code or 0), err


def files(tmp: Path) -> dict[str, str]:
    (tmp / "bad-kind.yaml").write_text("endpoints:\n  '*': {errors: [boom]}\n")
    (tmp / "broken.yaml").write_text("endpoints: [1, 2\n")
    (tmp / "bad-rate.yaml").write_text("endpoints:\n  '*': {error_rate: lots}\n")
    (tmp / "list.yaml").write_text("- 1\n- 2\n")
    (tmp / "old-state.json").write_text('{"version": 1, "engine": {}}')
    (tmp / "empty-store").mkdir()
    return {k: str(tmp / k) for k in ("bad-kind.yaml", "broken.yaml", "bad-rate.yaml", "list.yaml")}


CASES = [
    (["--store", "sample", "--port", "-1"], "port must be in 0..65535"),
    (["--store", "sample", "--port", "70000"], "port must be in 0..65535"),
    (["--store", "sample", "--port", "BUSY"], "cannot listen on 127.0.0.1:"),
    (["--store", "TMP/nowhere", "--port", "BUSY"], "no 1h candles"),
    (["--store", "TMP/empty-store", "--port", "BUSY"], "no 1h candles"),
    (["--store", "sample", "--timeframe", "7m", "--port", "BUSY"], "no 7m candles"),
    (
        ["--store", "sample", "--faults", "TMP/bad-kind.yaml", "--port", "BUSY"],
        "unknown error kinds",
    ),
    (["--store", "sample", "--faults", "TMP/broken.yaml", "--port", "BUSY"], "not valid YAML"),
    (["--store", "sample", "--faults", "TMP/bad-rate.yaml", "--port", "BUSY"], "must be a number"),
    (["--store", "sample", "--faults", "TMP/list.yaml", "--port", "BUSY"], "must hold a mapping"),
    (["--store", "sample", "--faults", "TMP/missing.yaml", "--port", "BUSY"], "cannot read"),
    (["--store", "sample", "--speed", "-1", "--port", "BUSY"], "speed must be a finite number"),
    (["--store", "sample", "--speed", "nan", "--port", "BUSY"], "speed must be a finite number"),
    (["--store", "sample", "--start", "someday", "--port", "BUSY"], "not a date"),
    (["--store", "sample", "--start", "1990-01-01", "--port", "BUSY"], "before the store's first"),
    (["--store", "sample", "--balance", "-5", "--port", "BUSY"], "balance must be"),
    (["--store", "sample", "--state", "TMP/old-state.json", "--port", "BUSY"], "not a venue state"),
    (["--store", "sample", "--config", "TMP/missing.yaml", "--port", "BUSY"], "cannot read config"),
    (["--store", "sample", "--state", "TMP/no/such/dir/s.db", "--port", "BUSY"], "does not exist"),
    (["--store", "sample", "--state", "TMP", "--port", "BUSY"], "is a folder"),
]


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(c[0][2:4]) for c in CASES])
def test_bad_input_is_one_line(
    args: list[str],
    message: str,
    tmp_path: Path,
    busy_port: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files(tmp_path)
    argv = [a.replace("TMP", str(tmp_path)).replace("BUSY", str(busy_port)) for a in args]
    code, err = run(argv, monkeypatch, capsys)
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err  # one line
    assert message in err
    assert "Traceback" not in err


def test_a_bad_choice_is_clicks_one_line_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(["--store", "sample", "--client-id-rule", "never"], monkeypatch, capsys)
    assert code == 2 and "Traceback" not in err and "'never' is not one of" in err


def test_a_half_spread_below_one_tick_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(["--store", "sample", "--half-spread-ticks", "0"], monkeypatch, capsys)
    assert code == 2 and "Traceback" not in err and "--half-spread-ticks" in err
