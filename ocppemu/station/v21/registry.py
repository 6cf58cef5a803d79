"""The handler table of the OCPP 2.1 station: the 2.0.1 table copied, then extended and overridden explicitly.

See :mod:`ocppemu.station.handlers`. Importing this module imports the 2.0.1 station (which fills the 2.0.1 table)
first, so the copy is complete.
"""

from __future__ import annotations

from typing import Any

import ocppemu.station.v201.station  # noqa: F401  (fills the 2.0.1 table before it is copied)
from ocppemu.ocpp.versions import Version
from ocppemu.station.handlers import HandlerTable
from ocppemu.station.v201.registry import HANDLERS as HANDLERS_201

HANDLERS: HandlerTable[Any] = HandlerTable(Version.V21, parent=HANDLERS_201)
