"""Masking of secrets (passwords, tokens, private keys, credentials in URLs) in JSON-ready values shown or exported."""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "**********"
SECRET_WORDS = ("password", "secret", "token", "key_file", "client_key", "private_key", "api_key")


def is_secret_key(key: object) -> bool:
    name = str(key).lower()
    return any(word in name for word in SECRET_WORDS)


def mask_secrets(value: Any) -> Any:
    """A copy of ``value`` with every non-empty scalar under a secret-looking key replaced by :data:`MASK`, and
    the credentials of URLs (``mongodb://user:pw@host``) masked."""
    if isinstance(value, dict):
        return {k: (MASK if v not in (None, "") and not isinstance(v, dict | list | bool) and is_secret_key(k)
                    else mask_secrets(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    if isinstance(value, str) and "://" in value and "@" in value.split("://", 1)[1].split("/", 1)[0]:
        scheme, rest = value.split("://", 1)
        return f"{scheme}://{MASK}@{rest.split('@', 1)[1]}"
    return value


_LOG_SECRETS = (
    (re.compile(r"(?i)(authorization[\"']?\s*[:=,]\s*[\"']?(?:basic|bearer)\s+)[^\s\"',;)\]]+"), r"\1" + MASK),
    (re.compile(r"(?i)([?&](?:token|access_token|password)=)[^&\s\"']+"), r"\1" + MASK),
    (re.compile(r"(?i)((?:ws|wss|http|https|mongodb|mongodb\+srv)://)[^/@\s:]+:[^/@\s]+@"), r"\1" + MASK + "@"),
)


def mask_log_text(text: str) -> str:
    """``text`` with HTTP credentials (``Authorization: Basic ...`` / ``Bearer ...``), ``?token=...`` query
    values and ``user:password@`` in URLs masked."""
    for pattern, repl in _LOG_SECRETS:
        text = pattern.sub(repl, text)
    return text


class SecretFilter(logging.Filter):
    """A logging filter that masks secrets in every record (see :func:`mask_log_text`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is logging's problem, not ours
            return True
        masked = mask_log_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install_secret_filter(logger: logging.Logger | None = None) -> None:
    """Add one :class:`SecretFilter` to every handler of ``logger`` (the root logger by default)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, SecretFilter) for f in handler.filters):
            handler.addFilter(SecretFilter())
