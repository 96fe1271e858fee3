"""Build the bundled sample store from ../shared/data (run once; the result is committed).

Usage: python tools/make_sample.py [SHARED_DATA_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from xsmom.data.store import ParquetStore
from xsmom.data.symbols import from_venue_id
from xsmom.data.validate import Kind

SYMBOLS = (
    "BTC",
    "ETH",
    "XRP",
    "ADA",
    "LTC",
    "BCH",
    "AAVE",
    "DOT",
    "ALGO",
    "ARB",
    "1000SHIB",
    "XTZ",
)
START = int(pd.Timestamp("2025-05-01", tz="UTC").timestamp() * 1000)
END = int(pd.Timestamp("2026-05-01", tz="UTC").timestamp() * 1000)
OUT = Path(__file__).resolve().parents[1] / "src" / "xsmom" / "data" / "sample"


def _cut(df: pd.DataFrame) -> pd.DataFrame:
    ts = df["timestamp"]
    return df.loc[(ts >= START) & (ts < END)].reset_index(drop=True)


def main() -> None:
    shared = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    store = ParquetStore(OUT)
    for base in SYMBOLS:
        vid = f"{base}USDT"
        sym = from_venue_id(vid)
        ohlcv = pd.read_parquet(shared / "ohlcv/binance_usdm/parquet/1h" / f"{vid}.parquet")
        mark = pd.read_parquet(shared / "mark/binance_usdm/parquet/1h" / f"{vid}.parquet")
        funding = pd.read_parquet(shared / "funding/binance_usdm/parquet" / f"{vid}.parquet")
        store.write(Kind.OHLCV, sym, _cut(ohlcv), "1h", source=vid)
        store.write(Kind.MARK, sym, _cut(mark), "1h", source=vid)
        store.write(Kind.FUNDING, sym, _cut(funding[["timestamp", "rate"]]), source=vid)
        print(sym, "ok")


if __name__ == "__main__":
    main()
