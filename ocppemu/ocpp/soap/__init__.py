"""OCPP 1.6 over SOAP (OCPP-S): the official WSDLs' model, JSON <-> XML mapping, SOAP 1.2 envelopes.

Sans-I/O like the rest of :mod:`ocppemu.ocpp`: text in, frames out. :class:`~ocppemu.ocpp.soap.codec.SoapCodec`
plugs into :class:`~ocppemu.ocpp.rpc.RpcEndpoint` as its wire codec, so the station core keeps working with the
JSON payloads it already produces and consumes, while every frame on the wire is a validated SOAP envelope.
"""

from __future__ import annotations

from ocppemu.ocpp.soap.codec import SoapCodec
from ocppemu.ocpp.soap.envelope import Envelope, EnvelopeError, peek
from ocppemu.ocpp.soap.wsdl import Service, service

__all__ = ["Envelope", "EnvelopeError", "Service", "SoapCodec", "peek", "service"]
