"""The daily report on the ledger of a paper run on real data: every figure recomputed from the
ledger's rows with plain SQL and pandas, the HTML opened in headless Chromium, the alert in
the outbox with its chart, the CLI's file and its one-line errors."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from paper_run_ledger import PaperRun, run_paper

from report_browser import assert_report_renders
from xsmom.cli.main import cli
from xsmom.notify import ConsoleChannel, from_payload, render
from xsmom.notify.messages import DailyReportCreated
from xsmom.reports import compute_daily, ended_day, publish_daily_report

START = 1_756_684_800_000  # 2025-09-01 00:00 UTC
SYMBOLS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "DOGE/USDT:USDT", "XRP/USDT:USDT"]
DAY = date(2025, 9, 2)
DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def paper(shared_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PaperRun]:
    home = tmp_path_factory.mktemp("paper_home")
    run = run_paper(shared_store, home, symbols=SYMBOLS, start_ms=START, hours=74)
    yield run
    run.ledger.close()


def _db(run: PaperRun) -> Path:
    url = run.ledger.url
    return Path(url.removeprefix("sqlite:///"))


def _frames(run: PaperRun) -> dict[str, pd.DataFrame]:
    with sqlite3.connect(_db(run)) as con:
        return {
            t: pd.read_sql_query(f"select * from {t}", con)
            for t in ("equity_snapshots", "fills", "funding_payments")
        }


def test_every_figure_matches_the_ledger_rows(paper: PaperRun) -> None:
    r = compute_daily(paper.ledger, DAY)
    f = _frames(paper)
    lo = START + DAY_MS
    hi = lo + DAY_MS
    eq = f["equity_snapshots"].sort_values("ts")
    opening = eq[eq.ts < lo].iloc[-1]
    closing = eq[(eq.ts >= lo) & (eq.ts < hi)].iloc[-1]
    assert r.opening_equity == pytest.approx(opening.equity, rel=1e-12)
    assert r.closing_equity == pytest.approx(closing.equity, rel=1e-12)
    pnl = closing.equity - opening.equity
    assert r.pnl == pytest.approx(pnl, abs=1e-9)
    assert r.return_pct == pytest.approx(pnl / opening.equity * 100, rel=1e-9)
    fills = f["fills"][(f["fills"].ts >= lo) & (f["fills"].ts < hi)]
    assert len(fills) > 0 and r.fills == len(fills)
    assert r.fees == pytest.approx(fills.fee.sum(), rel=1e-9)
    notional = (fills.qty * fills.price).sum()
    assert r.turnover == pytest.approx(notional / opening.equity, rel=1e-9)
    fund = f["funding_payments"][(f["funding_payments"].ts >= lo) & (f["funding_payments"].ts < hi)]
    assert len(fund) > 0
    assert r.funding == pytest.approx(fund.amount.sum(), rel=1e-9)
    # PnL explained by the rows: realized - fees + funding + change of unrealized
    explained = (
        fills.realized_pnl.sum()
        - fills.fee.sum()
        + fund.amount.sum()
        + closing.unrealized
        - opening.unrealized
    )
    assert explained == pytest.approx(pnl, abs=1e-6)
    assert abs(r.unexplained) < 1e-6
    # drawdown and Sharpe to date from the snapshots up to the end of the day
    hist = eq[eq.ts < hi]
    peak = hist.equity.max()
    assert r.drawdown_pct == pytest.approx((1 - closing.equity / peak) * 100, rel=1e-9)
    assert r.max_drawdown_pct == pytest.approx(
        ((1 - hist.equity / hist.equity.cummax()).max()) * 100, rel=1e-9
    )
    day = hist.ts // DAY_MS
    closes = hist.groupby(day).equity.last().to_numpy()
    prev = [hist.equity.iloc[0], *closes[:-1]]
    rets = closes / prev - 1
    assert len(rets) == 2
    sharpe = rets.mean() / rets.std(ddof=1) * math.sqrt(365)
    assert r.sharpe_to_date == pytest.approx(sharpe, rel=1e-9)
    # per symbol: each row from that symbol's fills and funding
    for s in r.symbols:
        sf = fills[fills.symbol == s.symbol]
        assert s.fees == pytest.approx(sf.fee.sum(), rel=1e-9, abs=1e-12)
        assert s.realized == pytest.approx(sf.realized_pnl.sum(), rel=1e-9, abs=1e-12)
        assert s.funding == pytest.approx(
            fund[fund.symbol == s.symbol].amount.sum(), rel=1e-9, abs=1e-12
        )
        assert s.fills == len(sf)
    assert {s.symbol for s in r.symbols} == set(fills.symbol) | set(fund.symbol)


def test_first_day_is_measured_from_its_first_snapshot_with_a_note(paper: PaperRun) -> None:
    r = compute_daily(paper.ledger, date(2025, 9, 1))
    assert r.opening_equity == pytest.approx(10_000.0)
    assert r.sharpe_to_date is None
    assert any("first day" in n for n in r.notes)


def test_a_day_without_equity_is_a_clear_error(paper: PaperRun) -> None:
    from xsmom.errors import DataError

    with pytest.raises(DataError, match="no equity snapshot on 2025-08-31"):
        compute_daily(paper.ledger, date(2025, 8, 31))


def test_ended_day_flips_at_midnight_utc() -> None:
    midnight = START + DAY_MS
    assert ended_day(midnight - 1, midnight) == date(2025, 9, 1)
    assert ended_day(midnight, midnight + 3_600_000) is None
    assert ended_day(midnight - 3_600_000, midnight - 1) is None


def test_publish_writes_html_and_one_alert_with_the_chart(paper: PaperRun, tmp_path: Path) -> None:
    console = ConsoleChannel(echo=lambda _line: None)
    now = START + 3 * DAY_MS
    r = publish_daily_report(paper.ledger, DAY, channels=[console], out_dir=tmp_path, now_ms=now)
    again = publish_daily_report(
        paper.ledger, DAY, channels=[console], out_dir=tmp_path, now_ms=now + 1
    )
    assert again.pnl == r.pnl
    items = [i for i in paper.ledger.outbox_items() if i.kind == "daily_report"]
    assert len(items) == 1  # one alert per day, however often it is published
    msg = from_payload(items[0].payload)
    assert isinstance(msg, DailyReportCreated)
    assert msg.date == "2025-09-02" and msg.pnl == pytest.approx(r.pnl)
    assert msg.chart is not None and msg.chart.data.startswith(b"\x89PNG")
    rendered = render(items[0].payload)
    assert rendered.attachments and "Daily report 2025-09-02" in rendered.title
    top = max(r.symbols, key=lambda s: abs(s.net))
    assert rendered.description.startswith(f"{top.symbol}: {top.net:+,.2f} USDT")
    assert len(rendered.description) < 4096  # Discord's embed description limit
    page = tmp_path / "daily-2025-09-02.html"
    check = assert_report_renders(page, min_charts=3)
    assert "2025-09-02" in check.title


def test_cli_report_daily_writes_the_file(paper: PaperRun, tmp_path: Path) -> None:
    home = _db(paper).parent
    out = tmp_path / "d.html"
    res = CliRunner().invoke(
        cli, ["report", "daily", "--home", str(home), "--date", "2025-09-02", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "PnL" in res.output and out.is_file()
    text = out.read_text()
    assert "Per symbol" in text and "BTC/USDT:USDT" in text
    again = CliRunner().invoke(
        cli, ["report", "daily", "--home", str(home), "--date", "2025-09-02", "--out", str(out)]
    )
    assert again.exit_code != 0 and "exists; pass --force" in str(again.exception)
    bad = CliRunner().invoke(
        cli,
        [
            "report",
            "daily",
            "--home",
            str(home),
            "--date",
            "2025-08-01",
            "--out",
            str(out),
            "--force",
        ],
    )
    assert bad.exit_code != 0 and "no equity snapshot on 2025-08-01" in str(bad.exception)


def test_the_daily_alert_reaches_a_discord_like_server(paper: PaperRun, tmp_path: Path) -> None:
    from xsmom.notify import DiscordChannel, WebhookUrl, deliver_due
    from xsmom.notify.fake_discord import FakeDiscord

    day = date(2025, 9, 3)
    now = START + 4 * DAY_MS
    with FakeDiscord() as fake:
        ch = DiscordChannel(WebhookUrl(fake.url), timeout_s=5.0)
        r = publish_daily_report(paper.ledger, day, channels=[ch], out_dir=None, now_ms=now)
        report = deliver_due(paper.ledger, [ch], now)
        ch.close()
        assert fake.state.rejected == []  # within Discord's limits
        (posted,) = [p for p in fake.state.accepted if p.dedup_key == "daily_report:2025-09-03"]
    embed = posted.payload["embeds"][0]
    assert embed["title"] == "Daily report 2025-09-03"
    assert embed["image"]["url"] == "attachment://equity-2025-09-03.png"
    assert posted.files == {"files[0]": next(iter(posted.files.values()))}
    assert posted.files["files[0]"].startswith(b"\x89PNG")
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["PnL"] == f"{r.pnl:,.2f} USDT"
    assert fields["fees"] == f"{r.fees:,.2f} USDT"
    assert report.sent >= 1 and report.parked == 0


def test_the_engine_hook_publishes_each_ended_day_once(paper: PaperRun, tmp_path: Path) -> None:
    # kept last in this module: it adds daily alerts to the shared paper ledger
    from xsmom.cli.live_daily import daily_report_hook
    from xsmom.config import Config
    from xsmom.live.active import BarContext

    hook = daily_report_hook([ConsoleChannel(echo=lambda _line: None)], tmp_path)

    def bar(now_ms: int) -> None:
        hook(
            BarContext(
                bar_ts=now_ms - 3_600_000, now_ms=now_ms, config=Config(), version="v",
                panel=None, weights={}, ledger=paper.ledger,  # type: ignore[arg-type]
            )
        )  # fmt: skip

    def dates() -> list[str]:
        items = [i for i in paper.ledger.outbox_items() if i.kind == "daily_report"]
        return sorted({str(i.payload["date"]) for i in items})

    before = dates()
    bar(START + 3_600_000)  # the bot's first bar: no day has ended yet
    bar(START + 5 * 3_600_000)  # same day
    assert dates() == before and not list(tmp_path.glob("daily-*.html"))
    bar(START + DAY_MS + 3_600_000)  # first bar of 09-02: 09-01 ended
    assert (tmp_path / "daily-2025-09-01.html").is_file()
    bar(START + 3 * DAY_MS + 3_600_000)  # a restart or gap over two midnights: both days, once
    assert {f.name for f in tmp_path.glob("daily-*.html")} == {
        "daily-2025-09-01.html", "daily-2025-09-02.html", "daily-2025-09-03.html",
    }  # fmt: skip
    n = len(paper.ledger.outbox_items())
    bar(START + 3 * DAY_MS + 7_200_000)  # same day again: nothing new
    assert len(paper.ledger.outbox_items()) == n
    assert {"2025-09-01", "2025-09-02", "2025-09-03"} <= set(dates())
