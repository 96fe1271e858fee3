"""Vectorized backtest: kernel, costs, metrics, attribution and report."""

from xsmom.backtest.engine import BacktestResult, run_backtest
from xsmom.backtest.metrics import METRIC_KEYS, compute_metrics

__all__ = ["METRIC_KEYS", "BacktestResult", "compute_metrics", "run_backtest"]
