"""Passwords never leave the process: URLs are masked whether or not they are well formed, and
every message that can reach a log, the warehouse or Prefect goes through `mask_secrets`.

A malformed URL (`postgresql//user:pw@host/db`, a missing `/`) cannot be parsed, so masking may
not depend on parsing: anything between the user's `:` and the last `@` of a token is masked.
Passwords seen in URLs (and values of `${VAR}` references expanded into them) are remembered for
the life of the process and masked wherever they appear, e.g. quoted back by a driver's error.
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"
# A token ends at white space or at a character that quotes or brackets a URL in a message.
_TOKEN_RE = re.compile(r"[^\s'\"<>()\[\]{},]+")
_SCHEME_RE = re.compile(r"^[A-Za-z][\w+.-]*:/*")
# Shorter values are too likely to be ordinary words or digits of a message.
_MIN_SECRET = 4
_secrets: set[str] = set()
_lock = threading.Lock()


def remember_secret(value: str | None) -> None:
    """Mask `value` in every later message of this process."""
    if value and len(value) >= _MIN_SECRET:
        with _lock:
            _secrets.add(value)


def _mask_token(token: str) -> str:
    at = token.rfind("@")
    if at < 0:
        return token
    head = token[:at]
    scheme = _SCHEME_RE.match(head)
    start = scheme.end() if scheme else 0
    colon = head.find(":", start)
    if colon < 0 and not (scheme and scheme.group(0).endswith("/")):
        colon = head.find(":")  # `user:pw@host` without a scheme looks like `scheme:rest`
    if colon < 0 or colon + 1 == at:
        return token
    return token[: colon + 1] + MASK + token[at:]


def one_line(error: BaseException) -> str:
    """`Type: message` of an error on one line, passwords masked: what may be logged, stored on
    a run and handed to Prefect."""
    text = mask_secrets(" ".join(str(error).split()))
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def mask_secrets(text: str) -> str:
    """`text` with every URL password and every remembered secret replaced by `***`."""
    masked = _TOKEN_RE.sub(lambda m: _mask_token(m.group(0)), str(text))
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        masked = masked.replace(secret, MASK)
    return masked


def redact_url(url: object) -> str:
    """A URL as it may be shown: its password masked, parsed or not."""
    from sqlalchemy import exc, make_url

    text = url.render_as_string(hide_password=False) if hasattr(url, "render_as_string") \
        else str(url)
    try:
        parsed = make_url(text)
    except (exc.ArgumentError, ValueError, TypeError):
        return mask_secrets(text)
    remember_secret(parsed.password)
    return mask_secrets(parsed.render_as_string(hide_password=True))


class MaskingFilter(logging.Filter):
    """Masks passwords in a record before any handler formats it (console, Prefect's API)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


_LOGGERS = ("", "prefect", "prefect.flow_runs", "prefect.task_runs", "prefect._internal")


def install_log_masking() -> None:
    """Put `MaskingFilter` on every handler of the loggers a run writes to (idempotent)."""
    for name in _LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, MaskingFilter) for f in handler.filters):
                handler.addFilter(MaskingFilter())
