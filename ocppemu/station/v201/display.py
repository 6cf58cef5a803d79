"""Display messages of a 2.x station wired to the protocol: SetDisplayMessage, GetDisplayMessages,
ClearDisplayMessage, and the windows of :class:`~ocppemu.station.display_messages.DisplayMessages` kept by one
timer on the station clock (a message is shown from ``startDateTime`` and removed at ``endDateTime``).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from ocppemu.ocpp.framing import Call
from ocppemu.station.v201.registry import HANDLERS

if TYPE_CHECKING:
    from ocppemu.station.v201.station import Station201

TIMER = "display_messages"


@HANDLERS.call("SetDisplayMessage")
def on_call_SetDisplayMessage(self: Station201, call: Call, now: float) -> None:
    msg = call.payload["message"]
    formats = self.dm.get_list("DisplayMessageCtrlr", "SupportedFormats")
    priorities = self.dm.get_list("DisplayMessageCtrlr", "SupportedPriorities")
    tid = msg.get("transactionId")
    if not self.dm.get_bool("DisplayMessageCtrlr", "Enabled", True):
        status = "Rejected"
    elif msg["message"]["format"] not in formats:
        status = "NotSupportedMessageFormat"
    elif msg["priority"] not in priorities:
        status = "NotSupportedPriority"
    elif tid is not None and not any(e.active_tx is not None and e.active_tx.transaction_id == tid
                                     for e in self.evses.values()):
        status = "UnknownTransaction"
    elif self.displays.is_full(msg["id"]):
        status = "Rejected"
    else:
        status = "Accepted"
    self.answer(call, {"status": status}, now)
    if status == "Accepted":
        self.displays.put(msg)
        self.emit("display_message", now, id=msg["id"], content=msg["message"]["content"])
        _changed(self, now)


@HANDLERS.call("GetDisplayMessages")
def on_call_GetDisplayMessages(self: Station201, call: Call, now: float) -> None:
    p = call.payload
    found = self.displays.find(set(p.get("id") or []), p.get("priority"), p.get("state"))
    self.answer(call, {"status": "Accepted" if found else "Unknown"}, now)
    for i in range(0, len(found), 10):
        chunk = found[i:i + 10]
        self.send_online("NotifyDisplayMessages", {"requestId": p["requestId"], "tbc": i + 10 < len(found),
                                                   "messageInfo": chunk}, now)


@HANDLERS.call("ClearDisplayMessage")
def on_call_ClearDisplayMessage(self: Station201, call: Call, now: float) -> None:
    found = self.displays.remove(call.payload["id"])
    self.answer(call, {"status": "Accepted" if found is not None else "Unknown"}, now)
    _changed(self, now)


def shown(self: Station201, now: float) -> list[dict[str, Any]]:
    """The messages on the station's display at ``now``."""
    return self.displays.shown(self.clock.station(now))


def _changed(self: Station201, now: float) -> None:
    """Drop ended messages, count the rest, and arm the timer for the next window edge."""
    for mid in self.displays.remove_ended(self.clock.station(now)):
        self.emit("display_message", now, id=mid, removed=True)
    self.set_variable("DisplayMessageCtrlr", "DisplayMessages", str(len(self.displays)), now)
    nxt = self.displays.next_change(self.clock.station(now))
    if nxt is None:
        self.timers.cancel(TIMER)
    else:
        self.timers.set(TIMER, max(self.clock.local(nxt), now + 0.001), partial(_changed, self))


