"""Reproduce the walk-forward meta-labeling study of docs/meta.md.

Writes the study's configs into OUT, imports the shared data into OUT/store (unless it is
there), then for each study trains a walk-forward model folder (``xsmom meta train
--walk-forward``) and compares the strategy with and without the filter out of sample
(``xsmom meta compare``, in ``mode: drop`` and ``mode: scale``). Every command's output goes
to OUT/<name>.log; the wall time of each is printed.

    nice -n 10 python tools/meta_study.py --data ../shared/data --out /tmp/meta-study
    nice -n 10 python tools/meta_study.py --out /tmp/meta-study --only A
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

# the shared data has no BCH/USDT:USDT funding before 2025-05-01 (candles from 2019-12): the
# backtest refuses to hold it there without this (it then charges no funding for that gap)
FUNDING = "backtest: {allow_funding_gaps: true}\n"

# name: (folds of optimize.folds, --start of train and compare, also compared in scale mode)
STUDIES: dict[str, tuple[str, str | None, bool]] = {
    "A": ("{mode: anchored, n_folds: 12, train: 365d, test: 90d}", None, True),
    "B": ("{mode: rolling, n_folds: 8, train: 120d, test: 30d}", "2025-02-01", True),
    "B-anchored": ("{mode: anchored, n_folds: 4, train: 120d, test: 60d}", "2025-02-01", True),
    "B-90d": ("{mode: rolling, n_folds: 8, train: 90d, test: 30d}", "2025-02-01", False),
    "B-150d": ("{mode: rolling, n_folds: 8, train: 150d, test: 30d}", "2025-02-01", False),
}


def write_config(out: Path, name: str, folds: str, scale: bool) -> Path:
    """Write the config of one study (the built-in defaults plus its folds) and return it."""
    path = out / f"{name}{'-scale' if scale else ''}.yaml"
    mode = "strategy: {meta: {mode: scale}}\n" if scale else ""
    path.write_text(f"name: meta-study-{name}\n{mode}optimize:\n  folds: {folds}\n{FUNDING}")
    return path


def xsmom(out: Path, log: str, *args: str) -> str:
    """Run one xsmom command, write its output to OUT/<log>.log, print its wall time."""
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "xsmom.cli.main", *args]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=out, env=os.environ.copy())
    (out / f"{log}.log").write_text(res.stdout + res.stderr)
    print(f"{log}: {time.perf_counter() - t0:.1f} s wall  ({' '.join(args)})", flush=True)
    if res.returncode != 0:
        raise SystemExit(f"{log} failed ({res.returncode}): {res.stderr.strip()}")
    return res.stdout


def run_study(out: Path, name: str) -> None:
    """Train the walk-forward folder of one study and compare it in drop (and scale) mode."""
    folds, start, with_scale = STUDIES[name]
    span = ["--start", start] if start else []
    cfg = write_config(out, name, folds, scale=False)
    models = out / f"models-{name}"
    args = ["--config", cfg.name, "--store", "store", *span]
    trained = xsmom(out, f"train-{name}", "meta", "train", *args, "--out", models.name,
                    "--walk-forward")  # fmt: skip
    folder = trained.split("model folder: ", 1)[1].splitlines()[0].strip()
    xsmom(out, f"compare-{name}", "meta", "compare", folder, *args)
    if with_scale:
        scfg = write_config(out, name, folds, scale=True)
        sargs = ["--config", scfg.name, "--store", "store", *span]
        xsmom(out, f"compare-{name}-scale", "meta", "compare", folder, *sargs)


def main() -> None:
    """Run the studies named by --only (default: all)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"), help="shared data")
    ap.add_argument("--out", type=Path, required=True, help="scratch folder (made if missing)")
    ap.add_argument("--only", nargs="*", choices=sorted(STUDIES), help="studies to run")
    a = ap.parse_args()
    out = a.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "store").is_dir():
        xsmom(out, "import", "data", "import", str(a.data.resolve()), "--store", "store")
    for name in a.only or list(STUDIES):
        run_study(out, name)


if __name__ == "__main__":
    main()
