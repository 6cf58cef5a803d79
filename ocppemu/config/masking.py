"""Masking of secrets (passwords, tokens, private keys, credentials in URLs) in JSON-ready values shown or exported."""

from __future__ import annotations

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
