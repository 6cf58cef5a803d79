"""An independent OCPP 1.6 SOAP Central System for the tests, built from the official WSDLs without ocppemu code.

* Every envelope a station sends is validated: SOAP 1.2 structure, the WS-Addressing headers of the 1.6 SOAP binding
  (``Action`` matching the WSDL's ``wsaw:Action``, ``MessageID``, ``From``, ``ReplyTo``, ``To``), the
  ``chargeBoxIdentity`` header, and the body against the WSDL's XML Schema with lxml/libxml2 (``XMLSchema``).
  Problems go to :attr:`SoapPeerCsms.errors`; a test asserts it stays empty.
* Bodies are decoded and answers built with zeep (the WSDL's types); answers carry ``RelatesTo``.
* CSMS-initiated calls go through a zeep client of the ChargePointService to the address the station advertised in
  ``From``; the station's answer envelope is validated the same way (schema, ``RelatesTo`` == our ``MessageID``).
* TLS (optionally mutual) and HTTP Basic auth like a real server; :meth:`stop` / :meth:`start` on the same port
  simulate an outage.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import itertools
import ssl
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zeep
import zeep.helpers
from lxml import etree
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler
from zeep.plugins import Plugin

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "soap16"
CS_WSDL = SCHEMAS / "OCPP_CentralSystemService_1.6.wsdl"
CP_WSDL = SCHEMAS / "OCPP_ChargePointService_1.6.wsdl"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
CS_NS = "urn://Ocpp/Cs/2015/10/"
CP_NS = "urn://Ocpp/Cp/2015/10/"
XSD = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSAW = "http://www.w3.org/2006/05/addressing/wsdl"


class WsdlChecker:
    """libxml2 validation of bodies/headers against a WSDL's embedded schema, and its operations' actions."""

    def __init__(self, path: Path) -> None:
        root = etree.parse(str(path)).getroot()
        schema_el = root.find(f"{{{WSDL}}}types/{{{XSD}}}schema")
        assert schema_el is not None
        self.schema = etree.XMLSchema(etree.fromstring(etree.tostring(schema_el)))
        messages = {m.get("name"): m.find(f"{{{WSDL}}}part").get("element").split(":")[-1]
                    for m in root.iterfind(f"{{{WSDL}}}message") if m.find(f"{{{WSDL}}}part") is not None}
        self.request_of: dict[str, tuple[str, str]] = {}  # element -> (operation, action)
        self.response_of: dict[str, tuple[str, str]] = {}
        for op in root.iterfind(f"{{{WSDL}}}portType/{{{WSDL}}}operation"):
            name = op.get("name")
            inp, out = op.find(f"{{{WSDL}}}input"), op.find(f"{{{WSDL}}}output")
            self.request_of[messages[inp.get("message").split(":")[-1]]] = (name, inp.get(f"{{{WSAW}}}Action"))
            self.response_of[messages[out.get("message").split(":")[-1]]] = (name, out.get(f"{{{WSAW}}}Action"))

    def errors(self, element: etree._Element) -> list[str]:
        if self.schema.validate(element):
            return []
        return [f"{e.message} (line {e.line})" for e in self.schema.error_log]


def _text(parent: etree._Element | None, path: str) -> str | None:
    if parent is None:
        return None
    el = parent.find(path, {"a": WSA, "s": SOAP12})
    return None if el is None else (el.text or "").strip()


@dataclass
class Received:
    """One station request the peer got."""

    identity: str | None
    action: str
    payload: dict[str, Any]
    headers: dict[str, str | None]
    raw: str


@dataclass
class SoapPeerCsms:
    """See the module docstring. ``url`` is the CentralSystemService address once started."""

    ssl_context: ssl.SSLContext | None = None
    basic_auth: tuple[str, str] | None = None
    boot_status: str = "Accepted"
    heartbeat_interval: int = 300
    http_status: int | None = None
    """Answer every request with this HTTP status and a plain-text body (a broken proxy, a CSMS in maintenance)."""
    hang: bool = False
    """Never answer (a CSMS that accepts connections but is stuck)."""
    received: list[Received] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stations: dict[str, str] = field(default_factory=dict)  # identity -> From address
    port: int = 0
    _server: HTTPServer | None = None
    _tx_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100))
    _event: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.cs = WsdlChecker(CS_WSDL)
        self.cp = WsdlChecker(CP_WSDL)
        self.cs_client = zeep.Client(str(CS_WSDL))

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}/Ocpp/CentralSystemService/"

    async def start(self) -> SoapPeerCsms:
        app = Application([(r"/.*", _Handler, {"peer": self})])
        sockets = bind_sockets(self.port, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self._server = HTTPServer(app, ssl_options=self.ssl_context)
        self._server.add_sockets(sockets)
        return self

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.close_all_connections(), 2)

    # -- what stations send -------------------------------------------------------------------------------------

    def check_auth(self, header: str | None) -> bool:
        if self.basic_auth is None:
            return True
        token = base64.b64encode(f"{self.basic_auth[0]}:{self.basic_auth[1]}".encode()).decode()
        return header == f"Basic {token}"

    def handle(self, body: bytes) -> tuple[int, bytes]:
        try:
            root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as exc:
            self.errors.append(f"not XML: {exc}")
            return 400, self.fault("not well-formed XML")
        if root.tag != f"{{{SOAP12}}}Envelope":
            self.errors.append(f"root is {root.tag}, not a SOAP 1.2 Envelope")
            return 400, self.fault("not a SOAP 1.2 envelope")
        header, body_el = root.find(f"{{{SOAP12}}}Header"), root.find(f"{{{SOAP12}}}Body")
        element = body_el[0] if body_el is not None and len(body_el) else None
        if header is None or element is None:
            self.errors.append("envelope without Header or Body content")
            return 400, self.fault("Header or Body missing")
        local = etree.QName(element).localname
        if etree.QName(element).namespace != CS_NS or local not in self.cs.request_of:
            self.errors.append(f"{element.tag} is not a CentralSystemService request")
            return 400, self.fault("unknown operation")
        operation, wsdl_action = self.cs.request_of[local]
        identity_el = header.find(f"{{{CS_NS}}}chargeBoxIdentity")
        headers = {
            "Action": _text(header, "a:Action"), "MessageID": _text(header, "a:MessageID"),
            "From": _text(header, "a:From/a:Address"), "ReplyTo": _text(header, "a:ReplyTo/a:Address"),
            "To": _text(header, "a:To"), "chargeBoxIdentity": None if identity_el is None else identity_el.text,
        }
        for name, value in headers.items():
            if not value:
                self.errors.append(f"{operation}: header {name} missing")
        if headers["Action"] != wsdl_action:
            self.errors.append(f"{operation}: Action {headers['Action']!r}, WSDL says {wsdl_action!r}")
        if identity_el is not None:
            self.errors.extend(f"{operation} chargeBoxIdentity: {e}" for e in self.cs.errors(identity_el))
        self.errors.extend(f"{operation}: {e}" for e in self.cs.errors(element))
        parsed = self.cs_client.get_element(element.tag).parse(element, self.cs_client.wsdl.types)
        payload = zeep.helpers.serialize_object(parsed, dict)
        identity = headers["chargeBoxIdentity"]
        if identity and headers["From"]:
            self.stations[identity] = headers["From"]
        self.received.append(Received(identity, operation, payload, headers, body.decode()))
        self._event.set()
        answer = self.answer(operation, payload)
        response_el = local[: -len("Request")] + "Response"
        return 200, self.envelope(f"{{{CS_NS}}}{response_el}", answer, f"/{operation}Response",
                                  headers["MessageID"])

    @staticmethod
    def fault(reason: str) -> bytes:
        """A SOAP 1.2 Sender Fault (what a SOAP server answers to an envelope it cannot use)."""
        env = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"soap": SOAP12})
        fault = etree.SubElement(etree.SubElement(env, f"{{{SOAP12}}}Body"), f"{{{SOAP12}}}Fault")
        etree.SubElement(etree.SubElement(fault, f"{{{SOAP12}}}Code"), f"{{{SOAP12}}}Value").text = "soap:Sender"
        text = etree.SubElement(etree.SubElement(fault, f"{{{SOAP12}}}Reason"), f"{{{SOAP12}}}Text")
        text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        text.text = reason
        return etree.tostring(env, xml_declaration=True, encoding="utf-8")

    def answer(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        now = dt.datetime.now(dt.UTC)
        accepted = {"status": "Accepted"}
        if operation == "BootNotification":
            return {"status": self.boot_status, "currentTime": now, "interval": self.heartbeat_interval}
        if operation == "Heartbeat":
            return {"currentTime": now}
        if operation == "Authorize":
            return {"idTagInfo": accepted}
        if operation == "StartTransaction":
            return {"transactionId": next(self._tx_ids), "idTagInfo": accepted}
        if operation == "StopTransaction":
            return {"idTagInfo": accepted}
        if operation == "DataTransfer":
            return {"status": "Accepted"}
        return {}

    def envelope(self, element_tag: str, values: dict[str, Any], action: str, relates_to: str | None) -> bytes:
        element = self.cs_client.get_element(element_tag)
        env = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"soap": SOAP12, "wsa": WSA})
        header = etree.SubElement(env, f"{{{SOAP12}}}Header")
        etree.SubElement(header, f"{{{WSA}}}Action").text = action
        etree.SubElement(header, f"{{{WSA}}}MessageID").text = f"urn:uuid:{uuid.uuid4()}"
        if relates_to:
            etree.SubElement(header, f"{{{WSA}}}RelatesTo").text = relates_to
        body = etree.SubElement(env, f"{{{SOAP12}}}Body")
        element.render(body, element(**values))
        return etree.tostring(env, xml_declaration=True, encoding="utf-8")

    async def wait_for(self, action: str, count: int = 1, timeout: float = 10.0) -> list[Received]:
        async def until() -> list[Received]:
            while True:
                got = [r for r in self.received if r.action == action]
                if len(got) >= count:
                    return got
                self._event.clear()
                await self._event.wait()

        return await asyncio.wait_for(until(), timeout)

    # -- CSMS-initiated calls -------------------------------------------------------------------------------------

    async def call(self, identity: str, operation: str, **values: Any) -> dict[str, Any]:
        """Call ``operation`` on the station's ChargePointService with zeep; returns the decoded answer.

        Raises ``zeep.exceptions.Fault`` when the station answers with a SOAP Fault."""
        address = self.stations[identity]
        return await asyncio.to_thread(self._call_sync, identity, address, operation, values)

    def _call_sync(self, identity: str, address: str, operation: str, values: dict[str, Any]) -> dict[str, Any]:
        checker = _AnswerChecker(self.cp, operation)
        client = zeep.Client(str(CP_WSDL), plugins=[checker], transport=zeep.Transport(timeout=15))
        service = client.create_service(f"{{{CP_NS}}}ChargePointServiceSoap", address)
        getattr(service, operation)(**values, _soapheaders={"ChargeBoxIdentity": identity})
        self.errors.extend(checker.errors)
        assert checker.body is not None
        # zeep unwraps one-field answers; decode the whole body element to get the answer as the WSDL shapes it
        parsed = client.get_element(checker.body.tag).parse(checker.body, client.wsdl.types)
        return zeep.helpers.serialize_object(parsed, dict) or {}

    async def post_raw(self, identity: str, text: str) -> tuple[int, str]:
        """POST ``text`` as it is to the station's ChargePointService; (HTTP status, body)."""
        from tornado.httpclient import AsyncHTTPClient

        client = AsyncHTTPClient(force_instance=True)
        try:
            response = await client.fetch(self.stations[identity], method="POST", body=text.encode(),
                                          headers={"Content-Type": "application/soap+xml; charset=utf-8"},
                                          raise_error=False, request_timeout=15)
        finally:
            client.close()
        return response.code, (response.body or b"").decode()


class _AnswerChecker(Plugin):  # type: ignore[misc]
    """Checks the station's answer to a zeep call: schema-valid body or Fault, RelatesTo == our MessageID."""

    def __init__(self, checker: WsdlChecker, operation: str) -> None:
        self.checker, self.operation = checker, operation
        self.message_id: str | None = None
        self.errors: list[str] = []
        self.body: etree._Element | None = None

    def egress(self, envelope: Any, http_headers: Any, operation: Any, binding_options: Any) -> Any:
        self.message_id = _text(envelope.find(f"{{{SOAP12}}}Header"), "a:MessageID")
        return envelope, http_headers

    def ingress(self, envelope: Any, http_headers: Any, operation: Any) -> Any:
        header = envelope.find(f"{{{SOAP12}}}Header")
        relates = _text(header, "a:RelatesTo")
        if relates != self.message_id:
            self.errors.append(f"{self.operation} answer: RelatesTo {relates!r} != MessageID {self.message_id!r}")
        if not _text(header, "a:Action"):
            self.errors.append(f"{self.operation} answer: no Action header")
        body = envelope.find(f"{{{SOAP12}}}Body")
        element = body[0] if body is not None and len(body) else None
        if element is None:
            self.errors.append(f"{self.operation} answer: empty Body")
        elif element.tag != f"{{{SOAP12}}}Fault":
            self.body = element
            local = etree.QName(element).localname
            if local not in self.checker.response_of or self.checker.response_of[local][0] != self.operation:
                self.errors.append(f"{self.operation} answer: unexpected body {element.tag}")
            else:
                expected = self.checker.response_of[local][1]
                if _text(header, "a:Action") != expected:
                    self.errors.append(f"{self.operation} answer: Action != {expected!r}")
            self.errors.extend(f"{self.operation} answer: {e}" for e in self.checker.errors(element))
        return envelope, http_headers


class _Handler(RequestHandler):
    def initialize(self, peer: SoapPeerCsms) -> None:
        self.peer = peer

    def check_xsrf_cookie(self) -> None:
        return

    async def post(self, *_: str) -> None:
        while self.peer.hang and self.peer._server is not None:
            await asyncio.sleep(0.05)
        if self.peer.http_status is not None:
            self.set_status(self.peer.http_status)
            self.set_header("Content-Type", "text/plain")
            self.finish("service unavailable\n")
            return
        if not self.peer.check_auth(self.request.headers.get("Authorization")):
            self.set_status(401)
            self.set_header("WWW-Authenticate", 'Basic realm="ocpp"')
            self.finish()
            return
        content_type = self.request.headers.get("Content-Type", "")
        if not content_type.startswith("application/soap+xml"):
            self.peer.errors.append(f"Content-Type {content_type!r} is not SOAP 1.2's application/soap+xml")
        status, body = self.peer.handle(self.request.body)
        self.set_status(status)
        self.set_header("Content-Type", "application/soap+xml; charset=utf-8")
        self.finish(body)
