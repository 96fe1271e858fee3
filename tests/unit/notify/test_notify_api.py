"""The exported API of xsmom.notify (what the live engine, the ledger and the CLI import)."""

from __future__ import annotations

import xsmom.notify as xn
from xsmom.notify.testing import MemoryOutbox


def test_all_names_resolve_once() -> None:
    for name in xn.__all__:
        assert getattr(xn, name) is not None
    assert len(set(xn.__all__)) == len(xn.__all__)


def test_every_channel_and_outbox_has_the_protocol_members() -> None:
    for cls in (xn.DiscordChannel, xn.JsonWebhookChannel, xn.ConsoleChannel):
        assert {"send", "redact", "close"} <= set(dir(cls)), cls
    members = {n for n in dir(xn.Outbox) if not n.startswith("_")}
    assert members <= set(dir(MemoryOutbox))


def test_every_catalogue_message_is_exported() -> None:
    assert {cls.__name__ for cls in xn.CATALOGUE.values()} <= set(xn.__all__)
