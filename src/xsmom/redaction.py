"""No key, secret or webhook token in any log line, whatever logger wrote it.

A process-wide registry holds every secret value the process knows: API credentials
register themselves when built (`xsmom.exchange.keys.ApiCredentials`), and `install` adds
the values of secret-looking environment variables (``*_API_KEY``, ``*_SECRET``,
``*_PASSWORD``, ``*_TOKEN``, ``*WEBHOOK*`` ...), webhook channels register their URL's
parts (`xsmom.notify.secrets`). `redact` masks those values in one pass (the longest
first, so a secret inside another is removed whole) and known
key patterns (API-key and signature headers and query parameters, ``"secret": ...`` in
dict reprs, Discord webhook tokens, the password of a ``scheme://user:password@host`` URL).
`RedactingFilter` applies it to a record's message,
arguments, traceback and stack text; `install` puts it on the root handlers and in the
record factory, so loggers with handlers of their own (``propagate=False``) are covered too;
`guard_loggers` puts it on named library loggers for processes that never call `install`.
This is the only redaction mechanism: objects that hold secrets (``ApiCredentials``,
``WebhookUrl``) register them here and mask their own texts with `redact`.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping

MASK = "***"
MIN_SECRET_LEN = 4  # shorter values would mask ordinary text
ENV_MIN_LEN = 6  # environment values: a guess by name, so be stricter

_lock = threading.Lock()
_secrets: set[str] = set()
_installed = {"factory": False}
_frozen = {"values": frozenset[str]()}  # _secrets as of the last register (hash cached)

_SECRET_ENV = re.compile(
    r"(API_?KEY|SECRET|PASSWORD|PASSPHRASE|TOKEN|WEBHOOK|PRIVATE_KEY)", re.IGNORECASE
)
_KEY_NAMES = (
    r"X-MBX-APIKEY|X-BAPI-API-KEY|X-BAPI-SIGN|OK-ACCESS-KEY|OK-ACCESS-SIGN|OK-ACCESS-PASSPHRASE"
    r"|ACCESS-KEY|ACCESS-SIGN|ACCESS-PASSPHRASE|X-API-KEY|Authorization"
    r"|signature|apiKey|api_key|api_secret|api_password|secret|password|passphrase"
)
# the password of a URL such as postgresql://bot:PASSWORD@db/xsmom
_URL_PASSWORD = re.compile(r"(?P<name>://[^:/@\s]+:)(?P<sep>)(?P<value>[^@\s]*)(?=@)")
_PATTERNS = (
    # header or field name, a quote, ':' or '=', then the value up to a delimiter
    re.compile(
        rf"""(?P<name>\b(?:{_KEY_NAMES}))(?P<sep>['"]?\s*[:=]\s*['"]?)(?P<value>[^'"\s,;&}}\]]+)""",
        re.IGNORECASE,
    ),
    re.compile(r"(?P<name>discord(?:app)?\.com/api/webhooks/\d+/)(?P<sep>)(?P<value>[\w-]+)"),
    _URL_PASSWORD,
)


def register(*values: str | None) -> None:
    """Add secret values to mask in every log record from now on."""
    with _lock:
        for v in values:
            if v and len(v) >= MIN_SECRET_LEN:
                _secrets.add(v)
        _frozen["values"] = frozenset(_secrets)


def register_env(env: Mapping[str, str] | None = None) -> int:
    """Register the values of secret-looking environment variables; return how many."""
    env = os.environ if env is None else env
    found = [
        v
        for k, v in env.items()
        if _SECRET_ENV.search(k) and not k.endswith("_FILE") and _secret_like(v)
    ]
    register(*found)
    return len(found)


def _secret_like(value: str) -> bool:
    # a TOKEN_TTL=3600 or an API_KEY_ENABLED=true must not mask every "3600" or "true"
    plain = value.isdigit() or value.lower() in ("true", "false", "none", "null", "yes", "no")
    return len(value) >= ENV_MIN_LEN and not plain


def secrets() -> tuple[str, ...]:
    """Return the registered secrets, longest first (so a secret inside another is masked)."""
    with _lock:
        return tuple(sorted(_secrets, key=len, reverse=True))


@functools.lru_cache(maxsize=32)
def _alternation(values: frozenset[str]) -> re.Pattern[str] | None:
    # one pass, longest alternative first: a whole URL goes before any of its parts, and one
    # secret's mask never breaks another's match (sequential replaces could leave a tail)
    if not values:
        return None
    return re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """Return ``text`` with every registered secret, ``extra`` and known key pattern masked."""
    values = _frozen["values"]
    more = frozenset(s for s in extra if s and len(s) >= MIN_SECRET_LEN)
    pattern = _alternation(values | more if more else values)
    if pattern is not None:
        text = pattern.sub(MASK, text)
    for key_pattern in _PATTERNS:
        text = key_pattern.sub(lambda m: f"{m['name']}{m['sep']}{MASK}", text)
    return text


def redact_url(url: str) -> str:
    """Return a database URL without its password (safe for logs, errors and provenance)."""
    return _URL_PASSWORD.sub(lambda m: f"{m['name']}{MASK}", url)


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except (TypeError, ValueError, KeyError):  # a broken format string: keep what it carried
        return f"{record.msg!r} % {record.args!r}"


def redact_record(record: logging.LogRecord, extra: Iterable[str] = ()) -> logging.LogRecord:
    """Mask secrets in ``record`` in place (message and args merged) and return it."""
    extra = tuple(extra)
    record.msg, record.args = redact(_message(record), extra), None
    if record.exc_info and record.exc_info[1] is not None:
        text = logging.Formatter().formatException(record.exc_info)
        record.exc_text = redact(text, extra)
    elif record.exc_text:
        record.exc_text = redact(record.exc_text, extra)
    if record.stack_info:
        record.stack_info = redact(record.stack_info, extra)
    return record


class RedactingFilter(logging.Filter):
    """A filter that masks secrets in every record it sees (put it on a handler)."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        super().__init__()
        self._extra = tuple(extra)

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record without secrets; keep it."""
        redact_record(record, self._extra)
        return True


def _install_factory() -> None:
    with _lock:
        if _installed["factory"]:
            return
        _installed["factory"] = True
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        return redact_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)


def guard_loggers(*names: str) -> None:
    """Put one redacting filter on each named logger (a library's, such as ``httpx``)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


def install(env: Mapping[str, str] | None = None) -> None:
    """Register secret env values and redact every record: root handlers and record factory."""
    register_env(env)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    _install_factory()
