"""The OCPP versions ocppemu speaks and their wire names."""

from __future__ import annotations

from enum import Enum


class Version(str, Enum):
    """An OCPP protocol version; the value is the short name used in configuration and records."""

    V16 = "1.6"
    V201 = "2.0.1"
    V21 = "2.1"

    @property
    def subprotocol(self) -> str:
        """The WebSocket subprotocol negotiated for this version (``ocpp1.6`` ...)."""
        return "ocpp" + self.value

    @property
    def schema_dir(self) -> str:
        """Folder name under ``schemas/`` holding this version's JSON schemas."""
        return {"1.6": "v16", "2.0.1": "v201", "2.1": "v21"}[self.value]

    @property
    def is_2x(self) -> bool:
        return self is not Version.V16

    @classmethod
    def parse(cls, text: str) -> Version:
        """Accept ``1.6``, ``ocpp1.6``, ``v16``, ``2.0.1``, ``ocpp2.0.1``, ``v201``, ``2.1`` ...

        Raises ``ValueError`` with the accepted spellings when ``text`` names no version.
        """
        t = text.strip().lower()
        if t.startswith("ocpp"):
            t = t[4:]
        aliases = {"1.6": cls.V16, "16": cls.V16, "v16": cls.V16, "2.0.1": cls.V201, "201": cls.V201,
                   "v201": cls.V201, "2.1": cls.V21, "21": cls.V21, "v21": cls.V21}
        try:
            return aliases[t]
        except KeyError:
            raise ValueError(f"unknown OCPP version {text!r}; use 1.6, 2.0.1 or 2.1") from None
