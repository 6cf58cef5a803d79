"""SOAP 1.2 envelopes with the WS-Addressing headers of the OCPP 1.6 SOAP binding: build, parse, peek.

Pure functions on text (lxml). Parsing never raises on peer input: it returns an :class:`Envelope` or an
:class:`EnvelopeError` that says what is wrong, so the caller can answer with a SOAP Fault. The parser resolves no
entities and fetches nothing from the network (an envelope cannot make the station read files or URLs).

The headers used: ``chargeBoxIdentity`` (namespace of the service called), ``wsa:Action``, ``wsa:MessageID``,
``wsa:From``, ``wsa:ReplyTo`` and ``wsa:To`` on requests; ``wsa:Action``, ``wsa:MessageID``, ``wsa:RelatesTo`` and
``wsa:To`` on answers (WS-Addressing 1.0, ``http://www.w3.org/2005/08/addressing``).
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

SOAP_NS = "http://www.w3.org/2003/05/soap-envelope"
WSA_NS = "http://www.w3.org/2005/08/addressing"
ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"
FAULT_ACTION = "http://www.w3.org/2005/08/addressing/soap/fault"
CONTENT_TYPE = "application/soap+xml; charset=utf-8"

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True, huge_tree=False,
                          load_dtd=False)


class EnvelopeError(Exception):
    """The text is not a usable SOAP 1.2 envelope; ``message_id`` is its MessageID when one could be read."""

    def __init__(self, message: str, *, message_id: str | None = None, relates_to: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.message_id = message_id
        self.relates_to = relates_to


@dataclass(slots=True, frozen=True)
class Fault:
    """A SOAP 1.2 Fault: ``code`` is ``Sender`` or ``Receiver``; ``subcode`` the OCPP error code (local name)."""

    code: str
    subcode: str | None
    reason: str


@dataclass(slots=True)
class Envelope:
    """A parsed envelope: addressing headers and either a body element or a fault."""

    action: str | None
    message_id: str | None
    relates_to: str | None
    to: str | None
    from_address: str | None
    reply_to: str | None
    charge_box_identity: str | None
    body: etree._Element | None
    fault: Fault | None


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    return (el.text or "").strip()


def _address(parent: etree._Element, name: str, url: str) -> None:
    holder = etree.SubElement(parent, _q(WSA_NS, name))
    etree.SubElement(holder, _q(WSA_NS, "Address")).text = url


def build(body: etree._Element, *, action: str, message_id: str, service_ns: str,
          charge_box_identity: str | None = None, to: str | None = None, from_address: str | None = None,
          reply_to: str | None = None, relates_to: str | None = None) -> str:
    """The text of a SOAP 1.2 envelope carrying ``body`` and the given headers (``None`` ones are left out)."""
    env = etree.Element(_q(SOAP_NS, "Envelope"), nsmap={"s": SOAP_NS, "a": WSA_NS, "ocpp": service_ns})
    header = etree.SubElement(env, _q(SOAP_NS, "Header"))
    if charge_box_identity is not None:
        etree.SubElement(header, _q(service_ns, "chargeBoxIdentity")).text = charge_box_identity
    etree.SubElement(header, _q(WSA_NS, "Action")).text = action
    etree.SubElement(header, _q(WSA_NS, "MessageID")).text = message_id
    if relates_to is not None:
        etree.SubElement(header, _q(WSA_NS, "RelatesTo")).text = relates_to
    if from_address is not None:
        _address(header, "From", from_address)
    if reply_to is not None:
        _address(header, "ReplyTo", reply_to)
    if to is not None:
        etree.SubElement(header, _q(WSA_NS, "To")).text = to
    etree.SubElement(env, _q(SOAP_NS, "Body")).append(body)
    return etree.tostring(env, encoding="unicode")


def fault_element(code: str, subcode: str | None, reason: str, service_ns: str) -> etree._Element:
    """A ``s:Fault`` body element: ``code`` ``Sender``/``Receiver``, ``subcode`` an OCPP error code."""
    fault = etree.Element(_q(SOAP_NS, "Fault"), nsmap={"s": SOAP_NS, "ocpp": service_ns})
    code_el = etree.SubElement(fault, _q(SOAP_NS, "Code"))
    etree.SubElement(code_el, _q(SOAP_NS, "Value")).text = f"s:{code}"
    if subcode:
        sub = etree.SubElement(code_el, _q(SOAP_NS, "Subcode"))
        etree.SubElement(sub, _q(SOAP_NS, "Value")).text = f"ocpp:{subcode}"
    reason_el = etree.SubElement(fault, _q(SOAP_NS, "Reason"))
    text = etree.SubElement(reason_el, _q(SOAP_NS, "Text"))
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    text.text = reason
    return fault


def _local(qname: str | None) -> str | None:
    if not qname:
        return None
    return qname.rsplit(":", 1)[-1].rsplit("}", 1)[-1]


def _parse_fault(el: etree._Element) -> Fault:
    code = _local(_text(el.find(f"{_q(SOAP_NS, 'Code')}/{_q(SOAP_NS, 'Value')}"))) or "Receiver"
    sub = _local(_text(el.find(f"{_q(SOAP_NS, 'Code')}/{_q(SOAP_NS, 'Subcode')}/{_q(SOAP_NS, 'Value')}")))
    reason = _text(el.find(f"{_q(SOAP_NS, 'Reason')}/{_q(SOAP_NS, 'Text')}")) or ""
    return Fault(code, sub, reason)


def _root(text: str | bytes) -> etree._Element:
    data = text.encode("utf-8") if isinstance(text, str) else text
    if not data.strip():
        raise EnvelopeError("empty message: a SOAP envelope was expected")
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise EnvelopeError(f"not well-formed XML: {exc}") from None


def parse(text: str | bytes) -> Envelope:
    """Parse an envelope; raises :class:`EnvelopeError` (with the MessageID when readable) if it is not one."""
    root = _root(text)
    if root.tag != _q(SOAP_NS, "Envelope"):
        if isinstance(root.tag, str) and root.tag.endswith("}Envelope"):
            raise EnvelopeError(f"not a SOAP 1.2 envelope (namespace {root.tag[1:].split('}')[0]!r}); "
                                "OCPP 1.6 uses SOAP 1.2")
        raise EnvelopeError(f"the root element is {root.tag!r}, not a SOAP 1.2 Envelope")
    header = root.find(_q(SOAP_NS, "Header"))
    body = root.find(_q(SOAP_NS, "Body"))

    def wsa(name: str) -> str | None:
        return _text(header.find(_q(WSA_NS, name))) if header is not None else None

    def wsa_address(name: str) -> str | None:
        return _text(header.find(f"{_q(WSA_NS, name)}/{_q(WSA_NS, 'Address')}")) if header is not None else None

    message_id, relates_to = wsa("MessageID"), wsa("RelatesTo")
    if body is None:
        raise EnvelopeError("the envelope has no Body", message_id=message_id, relates_to=relates_to)
    children = [c for c in body if isinstance(c.tag, str)]
    if len(children) != 1:
        raise EnvelopeError(f"the Body holds {len(children)} elements; OCPP puts exactly one there",
                            message_id=message_id, relates_to=relates_to)
    identity = None
    if header is not None:
        for h in header:
            if isinstance(h.tag, str) and h.tag.endswith("}chargeBoxIdentity"):
                identity = _text(h)
    child = children[0]
    fault = _parse_fault(child) if child.tag == _q(SOAP_NS, "Fault") else None
    return Envelope(wsa("Action"), message_id, relates_to, wsa("To"), wsa_address("From"), wsa_address("ReplyTo"),
                    identity, None if fault else child, fault)


@dataclass(slots=True, frozen=True)
class Peek:
    """What a transport needs to route an envelope without interpreting it."""

    message_id: str | None
    relates_to: str | None
    is_fault: bool
    from_address: str | None
    action: str | None = None


def peek(text: str | bytes) -> Peek | None:
    """Addressing of ``text``, or ``None`` when it is not a readable SOAP envelope."""
    try:
        env = parse(text)
    except EnvelopeError as exc:
        if exc.message_id is None and exc.relates_to is None:
            return None
        return Peek(exc.message_id, exc.relates_to, False, None)
    return Peek(env.message_id, env.relates_to, env.fault is not None, env.from_address, env.action)
