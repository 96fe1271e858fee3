"""``xsmom venue serve --config`` takes the backtest's fill costs."""

from __future__ import annotations

from xsmom.cli.venue import fees_from_config
from xsmom.sim import FeeModel


def test_fees_come_from_the_config_costs_section(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("costs:\n  taker_fee_bps: 4.0\n  maker_fee_bps: -1.0\n  slippage_bps: 3.0\n")
    fees = fees_from_config(cfg)
    assert (fees.taker_fee_bps, fees.maker_fee_bps, fees.slippage_bps) == (4.0, -1.0, 3.0)
    assert fees.fee(1000.0, is_maker=True) == -0.1  # a maker rebate is paid to the account
    assert fees_from_config(None) == FeeModel()
