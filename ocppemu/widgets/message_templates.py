"""Reusable crafted messages saved from the message crafter, kept in a JSON file next to the user's data.

The workbench interface stores *station* templates only, so message templates are a file in the daemon's data
folder (the crafter asks the daemon for its ``data_dir``; without one, the user data folder, which is also the
daemon's default: ``<user data dir>/ocppemu/message-templates.json``) unless a path is given. Writes replace the
file atomically.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import platformdirs

NAME = re.compile(r"^[A-Za-z0-9_.\- ]{1,100}$")


@dataclass(frozen=True, slots=True)
class MessageTemplate:
    name: str
    version: str
    action: str
    mode: str  # "validated" or "raw"
    body: str  # the JSON payload text, or the raw frame text


class MessageTemplates:
    """Named message templates in one JSON file; unreadable files read as empty (and are rewritten on save)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else (
            Path(platformdirs.user_data_dir("ocppemu", appauthor=False)) / "message-templates.json")

    def load(self) -> dict[str, MessageTemplate]:
        try:
            doc: Any = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        out: dict[str, MessageTemplate] = {}
        for item in doc.get("templates", []) if isinstance(doc, dict) else []:
            try:
                t = MessageTemplate(**{k: str(item[k]) for k in ("name", "version", "action", "mode", "body")})
            except (KeyError, TypeError):
                continue
            out[t.name] = t
        return out

    def save(self, template: MessageTemplate) -> None:
        """Add or replace ``template``; raises ValueError for a name outside ``[A-Za-z0-9_.- ]{1,100}``."""
        if not NAME.match(template.name):
            raise ValueError("template name: use 1-100 letters, digits, spaces, '_', '.' or '-'")
        items = self.load()
        items[template.name] = template
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"templates": [asdict(t) for t in items.values()]}, indent=2), encoding="utf-8")
        os.replace(tmp, self.path)
