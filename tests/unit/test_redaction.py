"""Secrets are masked in every log record: message, args, traceback, stack; registered values,
secret-looking environment variables and known key patterns; loggers with their own handlers."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from xsmom import redaction
from xsmom.exchange.keys import ApiCredentials


@pytest.fixture
def stream() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    handler.addFilter(redaction.RedactingFilter())
    logger = logging.getLogger("xsmom.test.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, buf
    logger.removeHandler(handler)


def test_registered_values_in_message_args_and_traceback_are_masked(
    stream: tuple[logging.Logger, io.StringIO],
) -> None:
    log, buf = stream
    creds = ApiCredentials("regKeyValue123456", "regSecretValue987654")  # registers itself
    log.debug("sending with %s and %r", creds.api_key, {"k": creds.secret})
    try:
        raise ValueError(f"venue echoed {creds.secret}")
    except ValueError:
        log.exception("failed")
    text = buf.getvalue()
    assert "regKeyValue" not in text and "regSecretValue" not in text
    assert text.count(redaction.MASK) >= 3 and "ValueError: venue echoed ***" in text


@pytest.mark.parametrize(
    ("line", "leak"),
    [
        ("Request: {'X-MBX-APIKEY': 'abcDEF123ghi', 'User-Agent': 'x'}", "abcDEF123ghi"),
        ("GET /fapi/v1/order?symbol=BTCUSDT&signature=9f8e7d6c5b4a", "9f8e7d6c5b4a"),
        ('{"apiKey": "zyx987wvu", "secret": "qwe456rty"}', "zyx987wvu"),
        ('{"apiKey": "zyx987wvu", "secret": "qwe456rty"}', "qwe456rty"),
        ("X-BAPI-API-KEY=bybitkey0001", "bybitkey0001"),
        ("post https://discord.com/api/webhooks/123/tok_en-ABC failed", "tok_en-ABC"),
    ],
)
def test_known_key_patterns_are_masked_without_registration(line: str, leak: str) -> None:
    assert leak not in redaction.redact(line)


def test_secret_looking_environment_variables_are_registered() -> None:
    env = {
        "XSMOM_OKX_API_PASSWORD": "envPass4242",
        "XSMOM_DISCORD_WEBHOOK_URL": "https://example.invalid/hook/envHook77",
        "XSMOM_KEYS_FILE": "/etc/keys.json",  # a path, not a secret
        "XSMOM_TOKEN_TTL": "3600",  # a number, not a secret
        "XSMOM_API_KEY_ENABLED": "true",
        "HOME": "/root",
    }
    assert redaction.register_env(env) == 2
    out = redaction.redact(
        "pw envPass4242 hook https://example.invalid/hook/envHook77 /etc/keys.json"
    )
    assert "envPass4242" not in out and "envHook77" not in out and "/etc/keys.json" in out


def test_the_record_factory_covers_loggers_that_do_not_propagate() -> None:
    redaction.register("factoryOnlySecret55")
    redaction.install(env={})
    buf = io.StringIO()
    own = logging.getLogger("thirdparty.own.handler")
    handler = logging.StreamHandler(buf)  # no filter: like optuna's own handler
    own.addHandler(handler)
    own.propagate = False
    try:
        own.warning("token %s", "factoryOnlySecret55")
    finally:
        own.removeHandler(handler)
    assert "factoryOnlySecret55" not in buf.getvalue() and "***" in buf.getvalue()


def test_a_broken_format_string_still_logs_masked() -> None:
    redaction.register("brokenFmtSecret1")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s %s", ("brokenFmtSecret1",), None)
    redaction.redact_record(record)
    assert "brokenFmtSecret1" not in str(record.msg) and record.args is None


def test_a_secret_inside_another_is_masked_whole_in_one_pass() -> None:
    url = "https://hooks.example.invalid/svc/onePassOuter0001/onePassInner0002"
    redaction.register("onePassInner0002", url)
    assert redaction.redact(f"POST {url}?wait=true; onePassInner0002") == (
        "POST ***?wait=true; ***"
    )
    # a value given only to one call (a filter's own secrets) joins the same pass
    assert redaction.redact("x onlyHereXyz99 y", ["onlyHereXyz99", "ab"]) == "x *** y"


def test_a_filter_masks_its_own_secrets_without_the_registry(
    stream: tuple[logging.Logger, io.StringIO],
) -> None:
    log, buf = stream
    log.handlers[0].addFilter(redaction.RedactingFilter(["filterOwnSecret321"]))
    log.info("sent %s", "filterOwnSecret321")
    assert "filterOwnSecret321" not in buf.getvalue() and "sent ***" in buf.getvalue()
    assert "filterOwnSecret321" not in redaction.secrets()  # not registered process-wide


def test_guard_loggers_puts_one_filter_on_a_library_logger() -> None:
    redaction.register("guardedLibSecret77")
    lib = logging.getLogger("thirdparty.guarded")
    redaction.guard_loggers("thirdparty.guarded", "thirdparty.guarded")
    guards = [f for f in lib.filters if isinstance(f, redaction.RedactingFilter)]
    assert len(guards) == 1
    record = lib.makeRecord(
        lib.name, logging.INFO, __file__, 1, "k=%s", ("guardedLibSecret77",), None
    )
    assert guards[0].filter(record) and record.getMessage() == "k=***"


def test_database_url_passwords_are_masked_in_any_text() -> None:
    url = "postgresql+psycopg://bot:pw-Xy9%40z@db.internal:5432/xsmom"
    assert redaction.redact_url(url) == "postgresql+psycopg://bot:***@db.internal:5432/xsmom"
    line = f"cannot connect to {url}: timeout; retry"
    assert redaction.redact(line) == (
        "cannot connect to postgresql+psycopg://bot:***@db.internal:5432/xsmom: timeout; retry"
    )
    for plain in ("sqlite:////srv/bot/ledger.sqlite", "https://127.0.0.1:8080/fapi/v1/time"):
        assert redaction.redact(plain) == redaction.redact_url(plain) == plain
    assert redaction.redact_url("postgresql://bot:@db/x") == "postgresql://bot:***@db/x"


def test_credentials_redact_through_the_one_mechanism() -> None:
    creds = ApiCredentials("credsOnlyKey0042", "credsOnlySecret0042")
    other = "registeredElsewhere77"
    redaction.register(other)
    text = f"key={creds.api_key} s {creds.secret} and {other} and secret: plain1234"
    assert creds.redact(text) == redaction.redact(text) == "key=*** s *** and *** and secret: ***"
