"""Export round trip: a simulated run is written to the ledger, exported with the CLI, and
equity, positions and per-order fills are recomputed from the exported files by independent
code (csv module, cash accounting) and compared."""

from __future__ import annotations

import csv
import json
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result
from ledger_backends import ledger_url, pg_module_db, pg_server  # noqa: F401  (fixtures)

from cli_run import run_xsmom
from xsmom.cli.main import cli
from xsmom.errors import ConfigError
from xsmom.ledger import Ledger, open_ledger

SYMBOLS = ("BTC/USDT:USDT", "ETH/USDT:USDT")
T0 = 1_767_225_600_000  # 2026-01-01T00:00Z
HOUR = 3_600_000
BARS = 48
START = 10_000.0
FEE = 0.0005


@dataclass
class Book:
    """The writer's own average-cost accounting (what an engine would record)."""

    qty: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SYMBOLS, 0.0))
    entry: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SYMBOLS, 0.0))
    wallet: float = START

    def trade(self, sym: str, signed: float, price: float) -> float:
        q, e = self.qty[sym], self.entry[sym]
        realized = 0.0
        if q * signed < 0:  # closes (part of) the position
            closed = min(abs(signed), abs(q)) * np.sign(q)
            realized = float(closed * (price - e))
        new = q + signed
        if new == 0:
            self.entry[sym] = 0.0
        elif q == 0 or q * new < 0:
            self.entry[sym] = price
        elif abs(new) > abs(q):
            self.entry[sym] = (q * e + signed * price) / new
        self.qty[sym] = new
        return realized


def simulate(led: Ledger) -> dict[int, dict[str, float]]:
    """Write a 48-bar run to the ledger; return the mark prices used at each snapshot."""
    rng = np.random.default_rng(7)
    marks = {"BTC/USDT:USDT": 50_000.0, "ETH/USDT:USDT": 3_000.0}
    book, seen = Book(), {}
    with led.transaction() as tx:
        tx.record_config_version("v1", {"strategy": {"k": 1}}, T0)
        tx.record_state_change(ts=T0, from_state=None, to_state="active", reason="start")
    for bar in range(BARS):
        ts = T0 + bar * HOUR
        for s in SYMBOLS:
            marks[s] *= float(np.exp(rng.normal(0, 0.01)))
        weights = {s: float(rng.uniform(-0.5, 0.5)) for s in SYMBOLS}
        with led.transaction() as tx:
            tx.record_targets(ts, {s: (w, w * START / marks[s]) for s, w in weights.items()}, "v1")
            for s in SYMBOLS:
                delta = round(weights[s] * START / marks[s] - book.qty[s], 6)
                if abs(delta) < 1e-6:
                    continue
                cid = f"xs-{bar}-{s[:3]}-0"
                side = "buy" if delta > 0 else "sell"
                tx.record_order(
                    client_id=cid,
                    symbol=s,
                    side=side,
                    type="market",
                    qty=abs(delta),
                    ts=ts + 1,
                    reason="target",
                    bar_ts=ts,
                    config_version="v1",
                )
                pieces = int(rng.integers(1, 4))
                sizes = [round(abs(delta) / pieces, 6)] * (pieces - 1)
                sizes.append(round(abs(delta) - sum(sizes), 9))
                done = 0.0
                for k, size in enumerate(sizes):
                    price = marks[s] * (1 + 0.0002 * (1 if side == "buy" else -1))
                    signed = size if side == "buy" else -size
                    realized = book.trade(s, signed, price)
                    fee = size * price * FEE
                    book.wallet += realized - fee
                    tx.record_fill(
                        symbol=s,
                        trade_id=f"{cid}-{k}",
                        side=side,
                        qty=size,
                        price=price,
                        fee=fee,
                        fee_currency="USDT",
                        ts=ts + 2 + k,
                        realized_pnl=realized,
                        client_id=cid,
                    )
                    done += size
                    status = "filled" if k == len(sizes) - 1 else "partially_filled"
                    tx.record_transition(
                        cid, status=status, filled_qty=done, ts=ts + 2 + k, reason=f"fill {k}"
                    )
                tx.upsert_position(
                    s,
                    qty=book.qty[s],
                    entry_price=book.entry[s],
                    ts=ts + 9,
                    reason=f"fills of {cid}",
                )
            if bar % 8 == 7:
                for s in SYMBOLS:
                    rate = float(rng.normal(1e-4, 5e-5))
                    amount = -book.qty[s] * marks[s] * rate
                    book.wallet += amount
                    tx.record_funding(
                        symbol=s,
                        ts=ts + 10,
                        rate=rate,
                        qty=book.qty[s],
                        mark_price=marks[s],
                        amount=amount,
                    )
            unreal = sum(book.qty[s] * (marks[s] - book.entry[s]) for s in SYMBOLS)
            tx.record_equity(
                ts=ts + 20, equity=book.wallet + unreal, wallet=book.wallet, unrealized=unreal
            )
            if bar == 30:
                tx.record_guard_event(
                    ts=ts + 21,
                    guard="drawdown",
                    event="tripped",
                    reason="dd 12% > 10%",
                    detail={"dd": 0.12},
                )
                tx.record_state_change(
                    ts=ts + 21, from_state="active", to_state="halted", reason="drawdown"
                )
        seen[ts + 20] = dict(marks)
    return seen


def ms(iso: str) -> int:
    assert iso.endswith("Z"), iso
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def invoke(*args: str) -> Result:
    """Run ``xsmom ledger ARGS`` in this process (faster than a subprocess)."""
    return CliRunner().invoke(cli, ["ledger", *args])


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_xsmom("ledger", *args, timeout=120)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, dict[str, float]]]:
    home = tmp_path_factory.mktemp("home")
    with open_ledger(f"sqlite:///{home / 'ledger.sqlite'}") as led:
        marks = simulate(led)
    out = home.parent / (home.name + "-export")
    res = run_cli("export", "--home", str(home), "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"wrote {out}/")
    return out, marks


def test_equity_recomputed_from_fills_and_funding(exported: tuple[Path, dict]) -> None:
    out, marks = exported
    fills, funding, equity = (rows(out / f) for f in ("fills.csv", "funding.csv", "equity.csv"))
    assert len(equity) == BARS and len(funding) == 2 * (BARS // 8)
    # cash accounting, independent of the writer's average cost: cash moves by every trade's
    # notional, fee and funding; equity = cash + sum(position x mark)
    events = sorted(
        [(ms(f["timestamp"]), "fill", f) for f in fills]
        + [(ms(f["timestamp"]), "funding", f) for f in funding],
        key=lambda e: e[0],
    )
    cash, pos, k = START, dict.fromkeys(SYMBOLS, 0.0), 0
    for snap in equity:
        t = ms(snap["timestamp"])
        while k < len(events) and events[k][0] <= t:
            _, kind, r = events[k]
            if kind == "fill":
                signed = float(r["qty"]) * (1 if r["side"] == "buy" else -1)
                pos[r["symbol"]] += signed
                cash -= signed * float(r["price"]) + float(r["fee"])
            else:
                cash += float(r["amount"])
            k += 1
        expect = cash + sum(pos[s] * marks[t][s] for s in SYMBOLS)
        assert float(snap["equity"]) == pytest.approx(expect, rel=1e-12, abs=1e-7)
        assert float(snap["wallet"]) + float(snap["unrealized"]) == pytest.approx(
            float(snap["equity"]), rel=1e-12
        )
    # the wallet moves by realized pnl - fees + funding, recomputed from the same files
    wallet = START + sum(float(f["realized_pnl"]) - float(f["fee"]) for f in fills)
    wallet += sum(float(f["amount"]) for f in funding)
    assert float(equity[-1]["wallet"]) == pytest.approx(wallet, rel=1e-12)
    with open_ledger(
        f"sqlite:///{out.parent / out.name.removesuffix('-export') / 'ledger.sqlite'}"
    ) as led:
        assert {s: p.qty for s, p in led.positions(include_flat=True).items()} == pytest.approx(pos)


def test_orders_fills_events_and_targets_files(exported: tuple[Path, dict]) -> None:
    out, _ = exported
    orders, fills, events = (rows(out / f) for f in ("orders.csv", "fills.csv", "events.csv"))
    assert orders and all(o["client_id"].startswith("xs-") for o in orders)
    assert len({o["client_id"] for o in orders}) == len(orders)
    by_order: dict[str, float] = {}
    for f in fills:
        by_order[f["client_id"]] = by_order.get(f["client_id"], 0.0) + float(f["qty"])
    for o in orders:
        assert o["status"] == "filled"
        assert float(o["filled_qty"]) == pytest.approx(float(o["qty"]), abs=1e-9)
        assert by_order[o["client_id"]] == pytest.approx(float(o["qty"]), abs=1e-9)
        assert ms(o["created"]) == ms(o["bar"]) + 1
        assert o["bar"].endswith(":00:00.000Z")
    assert len(fills) > len(orders)  # several orders filled in pieces
    assert [(e["source"], e["name"], e["event"], e["to_state"]) for e in events] == [
        ("state", "trading_state", "changed", "active"),
        ("guard", "drawdown", "tripped", ""),
        ("state", "trading_state", "changed", "halted"),
    ]
    assert json.loads(events[1]["detail"]) == {"dd": 0.12}
    assert events[0]["timestamp"] == "2026-01-01T00:00:00.000Z"
    targets = pq.read_table(out / "targets.parquet").to_pandas()
    assert list(targets.columns[:3]) == ["timestamp", "symbol", "weight"]
    assert str(targets["timestamp"].dtype) == "int64"
    assert len(targets) == BARS * len(SYMBOLS)
    assert targets["timestamp"].min() == T0 and (targets["timestamp"] % HOUR == 0).all()
    assert set(targets["config_version"]) == {"v1"}
    (version,) = json.loads((out / "config_versions.json").read_text())
    assert version == {
        "version_id": "v1",
        "config": {"strategy": {"k": 1}},
        "first_used_ms": T0,
        "last_used_ms": T0,
    }


def test_export_refuses_a_non_empty_folder_unless_forced(
    exported: tuple[Path, dict], tmp_path: Path
) -> None:
    out, _ = exported
    home = out.parent / out.name.removesuffix("-export")
    before = (out / "fills.csv").read_bytes()
    res = run_cli("export", "--home", str(home), "--out", str(out))
    assert res.returncode == 2
    assert (
        res.stderr == f"error: --out {out} exists and is not empty: choose another or use --force\n"
    )
    res = invoke("export", "--home", str(home), "--out", str(out), "--force")
    assert res.exit_code == 0, res.output
    assert (out / "fills.csv").read_bytes() == before
    res = invoke("export", "--home", str(tmp_path / "nobody"), "--out", str(tmp_path / "o"))
    assert isinstance(res.exception, ConfigError) and "no ledger at" in str(res.exception)
    assert not (tmp_path / "nobody").exists() and not (tmp_path / "o").exists()


def test_export_of_an_empty_ledger_writes_headers(tmp_path: Path) -> None:
    home = tmp_path / "home"
    open_ledger(f"sqlite:///{home / 'ledger.sqlite'}").close()
    res = invoke("export", "--home", str(home), "--out", str(tmp_path / "out"))
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "equity.csv").read_text() == (
        "timestamp,equity,wallet,unrealized,margin_ratio\n"
    )
    assert (tmp_path / "out" / "events.csv").read_text().startswith("timestamp,source,name,")
    assert pq.read_table(tmp_path / "out" / "targets.parquet").num_rows == 0


def test_export_and_info_with_db_on_each_backend(ledger_url: str, tmp_path: Path) -> None:  # noqa: F811
    with open_ledger(ledger_url) as led, led.transaction() as tx:
        tx.record_fill(
            symbol=SYMBOLS[0],
            trade_id="t1",
            side="sell",
            qty=0.25,
            price=0.1 + 0.2,
            fee=1e-9,
            fee_currency="USDT",
            ts=T0 + 123,
            liquidation=True,
        )
    res = invoke("export", "--db", ledger_url, "--out", str(tmp_path / "out"))
    assert res.exit_code == 0, res.output
    (f,) = rows(tmp_path / "out" / "fills.csv")
    assert (f["timestamp"], f["side"], f["liquidation"]) == (
        "2026-01-01T00:00:00.123Z",
        "sell",
        "True",
    )
    assert float(f["price"]) == 0.1 + 0.2 and float(f["fee"]) == 1e-9  # shortest repr round-trips
    res = invoke("info", "--db", ledger_url)
    assert res.exit_code == 0, res.output
    assert "revision: 0005 (this xsmom: 0005)" in res.output
    assert any(line.split() == ["fills", "1"] for line in res.output.splitlines())
