"""The two official OCPP 1.6 WSDLs as a model: operations, WS-Addressing actions and the XML Schema.

The WSDLs are read unchanged from the vendored ``schemas/soap16/`` folder. The XML Schema embedded in each WSDL's
``wsdl:types`` is compiled twice: with ``xmlschema`` as the model of the JSON <-> XML mapping, and with libxml2
(lxml) as the validator of every envelope body; the
operations and their ``wsaw:Action`` values come from the ``wsdl:portType``. Loading is lazy and cached: the first
use of a service costs a few hundred milliseconds, later ones nothing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import xmlschema
from lxml import etree

from ocppemu.ocpp.catalogue import schema_root

ServiceName = Literal["CentralSystemService", "ChargePointService"]

XSD_NS = "http://www.w3.org/2001/XMLSchema"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
WSAW_NS = "http://www.w3.org/2006/05/addressing/wsdl"
CS_NS = "urn://Ocpp/Cs/2015/10/"
CP_NS = "urn://Ocpp/Cp/2015/10/"
NAMESPACES: dict[ServiceName, str] = {"CentralSystemService": CS_NS, "ChargePointService": CP_NS}


@dataclass(frozen=True, slots=True)
class Operation:
    """One WSDL operation: the OCPP action, its body elements (local names) and its addressing actions."""

    action: str
    request_element: str
    response_element: str
    request_action: str
    response_action: str


@dataclass(frozen=True, slots=True)
class Service:
    """One of the two services: who serves it, its namespace, operations and compiled schema."""

    name: ServiceName
    namespace: str
    operations: dict[str, Operation]
    schema: xmlschema.XMLSchema
    """The model (element order, value types) used to map JSON <-> XML."""
    validator: etree.XMLSchema
    """The same schema compiled by libxml2: what every envelope body is validated with."""

    def by_element(self, local_name: str) -> tuple[Operation, Literal["request", "response"]] | None:
        """The operation whose request or response body element is ``local_name``."""
        for op in self.operations.values():
            if op.request_element == local_name:
                return op, "request"
            if op.response_element == local_name:
                return op, "response"
        return None

    def element(self, local_name: str) -> xmlschema.XsdElement:
        return self.schema.elements[local_name]


def wsdl_path(name: ServiceName) -> str:
    return str(schema_root() / "soap16" / f"OCPP_{name}_1.6.wsdl")


@functools.cache
def service(name: ServiceName) -> Service:
    """The model of ``CentralSystemService`` (served by the CSMS) or ``ChargePointService`` (by the station)."""
    doc = etree.parse(wsdl_path(name))
    root = doc.getroot()
    schema_el = root.find(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema")
    if schema_el is None:
        raise RuntimeError(f"{wsdl_path(name)} holds no XML Schema")
    schema_text = etree.tostring(schema_el, encoding="unicode")  # carries the WSDL's namespace declarations
    schema = xmlschema.XMLSchema(schema_text)
    validator = etree.XMLSchema(etree.fromstring(schema_text))
    messages: dict[str, str] = {}
    for msg in root.iterfind(f"{{{WSDL_NS}}}message"):
        part = msg.find(f"{{{WSDL_NS}}}part")
        if part is not None and part.get("name") == "parameters":
            messages[str(msg.get("name"))] = str(part.get("element")).split(":", 1)[-1]
    operations: dict[str, Operation] = {}
    for port_type in root.iterfind(f"{{{WSDL_NS}}}portType"):
        for op in port_type.iterfind(f"{{{WSDL_NS}}}operation"):
            inp, out = op.find(f"{{{WSDL_NS}}}input"), op.find(f"{{{WSDL_NS}}}output")
            if inp is None or out is None:
                continue
            action = str(op.get("name"))
            operations[action] = Operation(
                action,
                messages[str(inp.get("message")).split(":", 1)[-1]],
                messages[str(out.get("message")).split(":", 1)[-1]],
                str(inp.get(f"{{{WSAW_NS}}}Action") or f"/{action}"),
                str(out.get(f"{{{WSAW_NS}}}Action") or f"/{action}Response"),
            )
    return Service(name, NAMESPACES[name], operations, schema, validator)


def serving(role: Literal["station", "csms"]) -> Service:
    """The service this side serves (station: ChargePointService; CSMS: CentralSystemService)."""
    return service("ChargePointService" if role == "station" else "CentralSystemService")


def calling(role: Literal["station", "csms"]) -> Service:
    """The service this side calls."""
    return service("CentralSystemService" if role == "station" else "ChargePointService")
