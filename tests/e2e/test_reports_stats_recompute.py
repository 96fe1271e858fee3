"""Every figure of the backtest report's statistics table, recomputed with pandas from the
run's own files (equity.csv, attribution.csv, metrics.json, config.yaml) and the store's
closes, independently of xsmom.reports."""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_run import run_xsmom
from xsmom.data.bundled import sample_store

E0 = 10_000.0
BARS_PER_YEAR = 24 * 365


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("stats") / "run"
    r = run_xsmom(
        *("backtest", "--store", "sample", "--start", "2025-09-01", "--end", "2026-01-01"),
        *("--out", out, "--no-progress"),
    )
    assert r.returncode == 0, r.stderr
    return out


def table(page: str) -> dict[str, str]:
    """Return the statistics table of the page: plain name -> shown value."""
    body = page[page.index("<h2>Statistics</h2>") : page.index("<h2>Equity</h2>")]
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", body)
    return {html.unescape(k): html.unescape(v) for k, v in rows}


def number(shown: str) -> float:
    """Parse '1,234.56 USDT' / '-3.10 %' / '0.123' / 'n/a'."""
    if shown == "n/a":
        return math.nan
    return float(shown.split()[0].replace(",", ""))


def close_enough(shown: str, want: float) -> bool:
    """True when ``shown`` is ``want`` rounded to the digits shown."""
    digits = shown.split()[0]
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    return abs(number(shown) - want) <= 0.51 * 10**-decimals + 1e-9 * abs(want)


def store_closes(symbols: list[str], index: pd.Index) -> pd.DataFrame:
    root = Path(sample_store().root) / "ohlcv"
    cols = {}
    for f in sorted(root.rglob("*.parquet")):
        base, quote, settle = f.stem.split("_")
        sym = f"{base}/{quote}:{settle}"
        if sym in symbols:
            cols[sym] = pd.read_parquet(f).set_index("timestamp")["close"]
    return pd.DataFrame(cols).reindex(index)


def test_every_statistic_recomputes_from_the_outputs(run: Path) -> None:
    shown = table((run / "report.html").read_text())
    eq = pd.read_csv(run / "equity.csv")
    attr = pd.read_csv(run / "attribution.csv", index_col=0)
    meta = json.loads((run / "metrics.json").read_text())["run"]
    e = eq["equity"].to_numpy()
    ts = eq["timestamp"].to_numpy()
    want: dict[str, float] = {}
    want["Period"] = (ts[-1] - ts[0]) / 86_400_000
    want["Start value"] = E0
    want["End value"] = e[-1]
    want["Total return"] = (e[-1] / E0 - 1) * 100
    # benchmarks from the store: equal parts of every symbol priced at the first bar, and BTC
    close = store_closes(meta["symbols"], pd.Index(ts)).ffill()
    first = close.iloc[0].dropna()
    ew = (close[first.index] / first).mean(axis=1) * E0
    want["Benchmark return: buy & hold, equal weight"] = (ew.iloc[-1] / E0 - 1) * 100
    btc = close["BTC/USDT:USDT"]
    want["Benchmark return: buy & hold BTC"] = (btc.iloc[-1] / btc.iloc[0] - 1) * 100
    r = np.diff(np.concatenate(([E0], e))) / np.concatenate(([E0], e[:-1]))
    years = len(e) / BARS_PER_YEAR
    cagr = (e[-1] / E0) ** (1 / years) - 1
    want["Annual growth (CAGR)"] = cagr * 100
    want["Sharpe ratio (annualized)"] = r.mean() / r.std(ddof=1) * math.sqrt(BARS_PER_YEAR)
    down = math.sqrt(np.mean(np.minimum(r, 0) ** 2))
    want["Sortino ratio (annualized)"] = r.mean() / down * math.sqrt(BARS_PER_YEAR)
    path = np.concatenate(([E0], e))
    peak = np.maximum.accumulate(path)
    mdd = (1 - path / peak).max()
    want["Max drawdown"] = mdd * 100
    want["Calmar ratio (CAGR / max drawdown)"] = cagr / mdd
    # longest time from a peak to the first bar back at it (or to the end), in days
    times = np.concatenate(([ts[0]], ts))
    peak_val = pd.Series(path).cummax().shift(fill_value=E0).to_numpy()  # peak before bar
    new_peak = path >= peak_val
    peak_time = pd.Series(np.where(new_peak, times, np.nan)).ffill().shift()
    peak_time = peak_time.fillna(ts[0]).to_numpy()  # when the peak before each bar was set
    under_before = np.concatenate(([False], ~new_peak[:-1]))
    counted = ~new_peak | under_before
    want["Max drawdown duration"] = ((times - peak_time) * counted).max() / 86_400_000
    total = attr.loc["TOTAL"]
    want["Costs: fees"] = total["fees"]
    want["Costs: slippage"] = total["slippage"]
    want["Costs: funding paid (< 0: received)"] = total["funding"]
    want["Turnover (traded notional / mean equity per year)"] = (
        total["traded_notional"] / e.mean() / years
    )
    assert shown["Start"] == pd.Timestamp(ts[0], unit="ms").strftime("%Y-%m-%d %H:%M UTC")
    assert shown["End (last bar)"] == pd.Timestamp(ts[-1], unit="ms").strftime("%Y-%m-%d %H:%M UTC")
    wrong = {k: (shown[k], v) for k, v in want.items() if not close_enough(shown[k], v)}
    assert wrong == {}
    # everything else on the table comes from the trade and exposure logs (trades.parquet)
    assert set(shown) - set(want) - {"Start", "End (last bar)"} <= {
        k
        for k in shown
        if "xposure" in k
        or "rade" in k
        or "in rate" in k
        or "Profit" in k
        or "Expectancy" in k
        or "holding" in k
        or "winning" in k
        or "losing" in k
    }


def test_trade_and_exposure_statistics_recompute_from_the_logs(run: Path) -> None:
    shown = table((run / "report.html").read_text())
    eq = pd.read_csv(run / "equity.csv")
    attr = pd.read_csv(run / "attribution.csv", index_col=0)
    metrics = json.loads((run / "metrics.json").read_text())
    trades = pd.read_parquet(run / "trades.parquet")
    trips = pd.read_csv(run / "round_trips.csv")
    ts = eq["timestamp"].to_numpy()
    # the kernel counts round trips and wins on its own: the trade list agrees
    closed = trips[trips["status"] == "closed"]
    assert len(closed) == attr.loc["TOTAL", "round_trips"]
    # the kernel charges a flipping fill's costs to the trade it closes, the trade list
    # splits them pro rata: the win counts may differ by at most the number of flips
    signed = np.where(trades["side"] == "buy", 1.0, -1.0) * trades["quantity"]
    after = signed.groupby(trades["symbol"]).cumsum()
    before = after - signed
    flips = int(((before * after) < 0).sum())
    kernel_wins = metrics["hit_rate"] * len(closed)
    assert abs((closed["pnl"] > 0).sum() - kernel_wins) <= flips
    # every trade's PnL, open ones marked at the last close, adds up to the equity change,
    # and per symbol to the kernel's attribution
    assert trips["pnl"].sum() == pytest.approx(eq["equity"].iloc[-1] - E0, abs=1e-6)
    by_sym = trips.groupby("symbol")["pnl"].sum()
    np.testing.assert_allclose(by_sym, attr.loc[by_sym.index, "total"], atol=1e-6)
    pnl = closed["pnl"]
    wins, losses = pnl[pnl > 0], pnl[pnl <= 0]
    long_, short = closed[closed.direction == "long"], closed[closed.direction == "short"]
    held_h = (
        pd.to_datetime(closed["exit_time"]) - pd.to_datetime(closed["entry_time"])
    ).dt.total_seconds() / 3600
    want = {
        "Trades (closed round trips)": len(closed),
        "Trades still open at the end": (trips["status"] == "open").sum(),
        "Win rate": len(wins) / len(pnl) * 100,
        "Best trade": pnl.max(),
        "Worst trade": pnl.min(),
        "Average trade": pnl.mean(),
        "Best trade (return on entry notional)": closed["return_pct"].max(),
        "Worst trade (return on entry notional)": closed["return_pct"].min(),
        "Average trade (return on entry notional)": closed["return_pct"].mean(),
        "Average winning trade": wins.mean(),
        "Average losing trade": losses.mean(),
        "Profit factor (gross wins / gross losses)": wins.sum() / -losses.sum(),
        "Expectancy (average PnL per trade)": pnl.mean(),
        "Average holding time": held_h.mean(),
        "Long trades": len(long_),
        "Long trades PnL": long_["pnl"].sum(),
        "Long win rate": (long_["pnl"] > 0).mean() * 100,
        "Short trades": len(short),
        "Short trades PnL": short["pnl"].sum(),
        "Short win rate": (short["pnl"] > 0).mean() * 100,
    }
    # exposure at each close, replayed from the fills and the store's closes
    pos = (
        pd.DataFrame({"ts": trades["timestamp"], "sym": trades["symbol"], "q": signed})
        .pivot_table(index="ts", columns="sym", values="q", aggfunc="sum")
        .reindex(index=ts, fill_value=0.0)
        .fillna(0.0)
        .cumsum()
    )
    close = store_closes(list(pos.columns), pd.Index(ts)).ffill()
    gross = (pos * close[pos.columns]).abs().sum(axis=1) / eq["equity"].to_numpy()
    want["Max gross exposure"] = gross.max()
    want["Average gross exposure"] = gross.mean()
    want["Exposure time (bars holding a position)"] = (gross > 0).mean() * 100
    wrong = {k: (shown[k], v) for k, v in want.items() if not close_enough(shown[k], v)}
    assert wrong == {}
