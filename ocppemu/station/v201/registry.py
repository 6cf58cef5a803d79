"""The handler table of the OCPP 2.0.1 station: every module of this package registers its handlers here.

See :mod:`ocppemu.station.handlers`; the station module imports every handler module and checks the table is
complete at import.
"""

from __future__ import annotations

from typing import Any

from ocppemu.ocpp.versions import Version
from ocppemu.station.handlers import HandlerTable

HANDLERS: HandlerTable[Any] = HandlerTable(Version.V201)
