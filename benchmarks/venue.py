"""Order round trips per second against the simulated venue, with the real ccxt client.

One round trip = create a post-only limit order + cancel it (two signed HTTP requests over
loopback, each through signature check, weights, the matching engine and JSON).

Usage: python benchmarks/venue.py [--count N] [--seconds S] [--store DIR|sample] [--state]
[--json]. Stops after N round trips or S seconds, whichever comes first; ``--state`` keeps the
account in a SQLite state file (a commit before every answer); with --json, a last line of JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from xsmom.venue.testing import start_venue

SYMBOL = "BTC/USDT:USDT"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--store", default="sample")
    ap.add_argument("--state", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = run(args, Path(tmp) / "venue.sqlite" if args.state else None)
    for k, v in out.items():
        print(f"{k:>24}: {v}")
    if args.json:
        print(json.dumps(out))


def run(args: argparse.Namespace, state: Path | None) -> dict[str, object]:
    """Return the figures of one timed run."""
    unlimited = 10**9  # the venue's weight and order-rate limits would stop the loop
    with start_venue(
        args.store,
        start="2025-09-01",
        weight_limit=unlimited,
        order_limit_10s=unlimited,
        order_limit_1m=unlimited,
        state_file=state,
    ) as rv:
        ex = rv.ccxt_client()
        ex.load_markets()
        last = ex.fetch_ticker(SYMBOL)["last"]
        price = float(ex.price_to_precision(SYMBOL, last * 0.9))
        amount = float(ex.amount_to_precision(SYMBOL, 20.0 / price))
        done = 0
        t0 = time.perf_counter()
        deadline = t0 + args.seconds
        while done < args.count and time.perf_counter() < deadline:
            order = ex.create_order(SYMBOL, "limit", "buy", amount, price, {"postOnly": True})
            ex.cancel_order(order["id"], SYMBOL)
            done += 1
        seconds = time.perf_counter() - t0
    return {
        "state_file": state is not None,
        "round_trips": done,
        "seconds": round(seconds, 3),
        "round_trips_per_second": round(done / seconds, 1) if seconds > 0 else 0.0,
        "ms_per_round_trip": round(1000 * seconds / done, 2) if done else None,
    }


if __name__ == "__main__":
    main()
