"""xsmom: cross-sectional momentum for USDT-margined perpetual futures."""

__version__ = "0.1.0"
