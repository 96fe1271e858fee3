"""Key loading (environment, 0600 file) and redaction in reprs, errors and logs."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import ccxt
import pytest

from xsmom.errors import ConfigError
from xsmom.exchange.ccxt_adapter import CcxtConfig, CcxtExchange
from xsmom.exchange.keys import (
    ApiCredentials,
    RedactingFilter,
    from_env,
    from_file,
    load_credentials,
)

KEY = "AKIAKEY0123456789abcdef"
SECRET = "s3cr3t-0123456789-SECRET-VALUE"


def _write(path: Path, doc: object, mode: int) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    os.chmod(path, mode)
    return path


def test_env_names_and_partial_env_is_an_error() -> None:
    env = {"XSMOM_BINANCEUSDM_API_KEY": KEY, "XSMOM_BINANCEUSDM_API_SECRET": SECRET}
    creds = from_env("binanceusdm", env)
    assert creds is not None and creds.api_key == KEY and creds.secret == SECRET
    assert from_env("bybit", env) is None
    with pytest.raises(ConfigError, match="XSMOM_BYBIT_API_SECRET"):
        from_env("bybit", {"XSMOM_BYBIT_API_KEY": KEY})


def test_file_with_mode_0600_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "keys.json", {"api_key": KEY, "api_secret": SECRET}, 0o600)
    creds = from_file(path, "binanceusdm")
    assert (creds.api_key, creds.secret, creds.password) == (KEY, SECRET, None)


def test_file_keyed_by_exchange(tmp_path: Path) -> None:
    doc = {
        "binanceusdm": {"api_key": KEY, "api_secret": SECRET},
        "bybit": {"api_key": "k2", "api_secret": "s2"},
    }
    path = _write(tmp_path / "keys.json", doc, 0o400)
    assert from_file(path, "bybit").api_key == "k2"
    with pytest.raises(ConfigError, match="okx"):
        from_file(path, "okx")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o666])
def test_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = _write(tmp_path / "keys.json", {"api_key": KEY, "api_secret": SECRET}, mode)
    with pytest.raises(ConfigError, match="chmod 600") as info:
        from_file(path, "binanceusdm")
    assert SECRET not in str(info.value)


def test_broken_file_error_does_not_quote_content(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(f'{{"api_key": "{KEY}", "api_secret": {SECRET}', encoding="utf-8")
    os.chmod(path, 0o600)
    with pytest.raises(ConfigError) as info:
        from_file(path, "binanceusdm")
    assert SECRET not in str(info.value) and KEY not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_load_prefers_file_from_env_var(tmp_path: Path) -> None:
    path = _write(tmp_path / "k.json", {"api_key": "filekey", "api_secret": "filesecret"}, 0o600)
    env = {
        "XSMOM_KEYS_FILE": str(path),
        "XSMOM_BINANCEUSDM_API_KEY": KEY,
        "XSMOM_BINANCEUSDM_API_SECRET": SECRET,
    }
    creds = load_credentials("binanceusdm", env=env)
    assert creds is not None and creds.api_key == "filekey"
    creds = load_credentials("binanceusdm", env={k: v for k, v in env.items() if "FILE" not in k})
    assert creds is not None and creds.api_key == KEY
    assert load_credentials("binanceusdm", env={}) is None
    with pytest.raises(ConfigError):
        load_credentials("binanceusdm", path=tmp_path / "missing.json", env={})


def test_reprs_show_no_secret() -> None:
    creds = ApiCredentials(KEY, SECRET, "passphrase-xyz")
    for text in (repr(creds), str(creds), f"{creds}", repr([creds]), repr({"c": creds})):
        assert KEY not in text and SECRET not in text and "passphrase-xyz" not in text
    ex = CcxtExchange(CcxtConfig(exchange_id="binanceusdm"), creds)
    assert KEY not in repr(ex) and SECRET not in repr(ex)
    assert creds.redact(f"key={KEY}&secret={SECRET}") == "key=***&secret=***"
    with pytest.raises(ConfigError):
        ApiCredentials("", SECRET)


def test_log_filter_redacts_messages_args_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    creds = ApiCredentials(KEY, SECRET)
    logger = logging.getLogger("xsmom.test.redact")
    logger.addFilter(RedactingFilter(creds))
    with caplog.at_level(logging.INFO, logger="xsmom.test.redact"):
        logger.info("sending key %s with secret %s", KEY, SECRET)
        try:
            raise RuntimeError(f"venue echoed {SECRET}")
        except RuntimeError:
            logger.exception("failed")
    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert KEY not in text and SECRET not in text
    assert "***" in text


class EchoingClient:
    """A ccxt stand-in whose error echoes the key, as a careless venue might."""

    last_response_headers: dict[str, str] = {}  # noqa: RUF012  (read-only test fixture)

    def fetch_balance(self) -> dict[str, object]:
        raise ccxt.AuthenticationError(f'{{"msg": "invalid key {KEY} / {SECRET}"}}')


def test_adapter_errors_are_redacted_and_drop_the_vendor_exception() -> None:
    creds = ApiCredentials(KEY, SECRET)
    ex = CcxtExchange(CcxtConfig(), creds, client=EchoingClient(), sleep=lambda _s: None)
    with pytest.raises(Exception) as info:
        ex.balance()
    err = info.value
    assert KEY not in str(err) and SECRET not in str(err)
    assert err.__cause__ is None and err.__suppress_context__
