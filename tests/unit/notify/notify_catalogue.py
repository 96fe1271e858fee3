"""One instance of every catalogue message, with the dedup key and severity worked out by hand."""

from __future__ import annotations

from xsmom.notify import messages as m

T = 1_767_225_600_000  # 2026-01-01T00:00:00Z
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4

EXAMPLES: list[tuple[m.Message, str, str]] = [
    (
        m.EngineStarted(
            ts_event=T, ts_init=T + 1, run_id="r1", mode="paper", config_version="ab" * 32
        ),
        "engine_started:r1",
        "info",
    ),
    (
        m.EngineStopped(ts_event=T, ts_init=T, run_id="r1", reason="crash", clean=False),
        "engine_stopped:r1",
        "critical",
    ),
    (
        m.FillsSummarized(
            ts_event=T + 5,
            ts_init=T + 6,
            bar_ms=T,
            fills=2,
            notional=1234.5,
            fees=0.61,
            equity=10_000.0,
            lines=("BTC/USDT:USDT buy 0.01 @ 95000", "ETH/USDT:USDT sell 0.2 @ 3300"),
        ),
        f"fills_summary:{T}",
        "info",
    ),
    (
        m.GuardTransitioned(
            ts_event=T,
            ts_init=T,
            from_state="active",
            to_state="halted",
            guard="daily_loss",
            reason="daily loss 5.2 % > 5 %",
        ),
        f"guard_transition:{T}:daily_loss:halted",
        "critical",
    ),
    (
        m.GuardTransitioned(
            ts_event=T,
            ts_init=T,
            from_state="halted",
            to_state="reducing",
            guard="drawdown",
            reason="drawdown back under 10 %",
        ),
        f"guard_transition:{T}:drawdown:reducing",
        "warning",
    ),
    (
        m.CircuitBreakerOpened(
            ts_event=T, ts_init=T, calls=20, failures=11, failure_rate=0.55, reason="5xx storm"
        ),
        f"breaker_opened:{T}",
        "critical",
    ),
    (m.CircuitBreakerClosed(ts_event=T, ts_init=T, open_ms=90_000), f"breaker_closed:{T}", "info"),
    (
        m.NoTradeAlerted(ts_event=T, ts_init=T, since_ms=T - 86_400_000, bars=24, reason="x"),
        f"no_trade:{T - 86_400_000}",
        "warning",
    ),
    (
        m.StaleHeartbeatDetected(
            ts_event=T, ts_init=T, last_beat_ms=T - 600_000, threshold_s=300, home="/srv/bot"
        ),
        f"heartbeat_stale:{T - 600_000}",
        "critical",
    ),
    (
        m.ReconciliationRepaired(ts_event=T, ts_init=T, repairs=("BTC position 0.01 -> 0.02",)),
        f"reconciliation_repaired:{T}",
        "warning",
    ),
    (
        m.ReconciliationRefused(
            ts_event=T, ts_init=T, reason="unknown position", differences=("DOGE 1000",)
        ),
        f"reconciliation_refused:{T}",
        "critical",
    ),
    (
        m.OptimizerFinished(
            ts_event=T,
            ts_init=T,
            candidate_version="cd" * 32,
            accepted=True,
            oos_sharpe=1.2,
            current_sharpe=0.8,
            deflated_sharpe=0.95,
            pbo=0.2,
            reasons=("gate passed",),
        ),
        f"optimizer_result:{'cd' * 32}:{T}",
        "info",
    ),
    (
        m.DailyReportCreated(
            ts_event=T,
            ts_init=T,
            date="2025-12-31",
            pnl=-12.5,
            return_pct=-0.125,
            equity=9987.5,
            sharpe_to_date=0.4,
            drawdown_pct=1.5,
            fees=3.2,
            funding=-0.7,
            turnover=1.1,
            chart=m.Attachment(filename="equity.png", data=PNG),
        ),
        "daily_report:2025-12-31",
        "info",
    ),
    (m.NotificationTested(ts_event=T, ts_init=T), f"test:{T}", "info"),
    (
        m.RolloutTransitioned(
            ts_event=T,
            ts_init=T,
            version="ef" * 32,
            from_stage="small",
            to_stage="rolled_back",
            reason="live Sharpe -1.20 below its band [0.40, 1.10] by more than 0.50",
            active_version="ab" * 32,
            previous_active="ab" * 32,
        ),
        f"rollout_transition:{'ef' * 32}:rolled_back:{T}",
        "warning",
    ),
    (
        m.RolloutRestartFailed(
            ts_event=T,
            ts_init=T,
            active_version="ab" * 32,
            command="systemctl restart xsmom-live",
            reason="exit code 1: Unit xsmom-live.service not found.",
        ),
        f"rollout_restart_failed:{'ab' * 32}:{T}",
        "warning",
    ),
]
