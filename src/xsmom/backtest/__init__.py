"""Vectorized backtest: kernel, costs, metrics, attribution and report."""
