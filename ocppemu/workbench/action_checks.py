"""Checks of a user action against the station's configuration, before it reaches the engine.

An action on a connector (1.6) or EVSE (2.x) the station does not have is a :class:`NotFound` (HTTP 404); a
fault with an error code OCPP does not define is an :class:`InvalidRequest` (HTTP 422). Both leave the station
untouched.
"""

from __future__ import annotations

from typing import get_args

from ocppemu.config.station import StationConfig
from ocppemu.ocpp.models.v16 import StatusNotificationRequest
from ocppemu.ocpp.versions import Version
from ocppemu.workbench.interface import ActionRequest, InvalidRequest, NotFound

#: 1.6 ChargePointErrorCode values (StatusNotification.errorCode), from the schema-generated model.
ERROR_CODES: tuple[str, ...] = get_args(StatusNotificationRequest.model_fields["errorCode"].annotation)


def check_action(config: StationConfig, request: ActionRequest) -> None:
    """Raise when ``request`` names a connector the station lacks or an unknown error code."""
    if request.action == "disconnect_network":
        return
    v16 = config.protocol_version is Version.V16
    ids = sorted({c.id for c in config.connectors} if v16 else {c.evse for c in config.connectors})
    station_wide = v16 and request.connector_id == 0 and request.action == "set_connector_status"
    if request.connector_id not in ids and not station_wide:
        what = "connector" if v16 else "EVSE"
        raise NotFound(f"station {config.station_id} has no {what} {request.connector_id} (it has "
                       f"{', '.join(map(str, ids))})")
    if (request.action == "fault" or (request.action == "set_connector_status" and request.status == "Faulted")) \
            and request.error_code not in ERROR_CODES:
        raise InvalidRequest(f"error_code: {request.error_code!r} is not an OCPP error code; use one of "
                             f"{', '.join(c for c in ERROR_CODES if c != 'NoError')}")
