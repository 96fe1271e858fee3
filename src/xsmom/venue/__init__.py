"""Simulated exchange: HTTP server speaking a Binance USDT-M REST subset over replayed market data.

The matching engine and its value types live in :mod:`xsmom.sim` (shared with the paper adapter).
The server is built by :func:`xsmom.venue.app.create_server`; the test helper lives in
:mod:`xsmom.venue.testing`.
"""
