"""Time a full import of ../shared/data into a fresh store, and a re-import (adds 0 rows).

Usage: python benchmarks/bench_data_import.py [SHARED_DATA_DIR] [--json]
Prints seconds, rows per second and peak memory; with --json, a last line of JSON.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from xsmom.data.importers import import_data
from xsmom.data.store import ParquetStore


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--json"]
    shared = Path(args[0]) if args else Path(__file__).resolve().parents[2] / "shared" / "data"
    with tempfile.TemporaryDirectory() as tmp:
        store = ParquetStore(Path(tmp) / "store")
        t0 = time.perf_counter()
        first = import_data(shared, store)
        t1 = time.perf_counter()
        again = import_data(shared, store)
        t2 = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {
        "series": len(first.series),
        "rows": first.added,
        "import_s": round(t1 - t0, 3),
        "rows_per_s": round(first.added / (t1 - t0)),
        "reimport_s": round(t2 - t1, 3),
        "reimport_added": again.added,
        "peak_rss_mb": round(peak_mb),
    }
    for k, v in out.items():
        print(f"{k:>15}: {v}")
    if "--json" in sys.argv:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
