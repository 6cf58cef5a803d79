"""The workbench's message crafter on a SOAP station: a validated CALL, a hand-written envelope, a malformed one."""

from __future__ import annotations

import asyncio
from pathlib import Path

import ocppemu
from ocppemu.workbench.interface import SendMessageRequest
from tests.peers.soap_csms import SoapPeerCsms

ENVELOPE = ('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:cs="urn://Ocpp/Cs/2015/10/"><s:Header>'
            '<cs:chargeBoxIdentity>CRAFT1</cs:chargeBoxIdentity><a:Action>/Authorize</a:Action>'
            '<a:MessageID>urn:uuid:crafted-1</a:MessageID><a:From><a:Address>http://127.0.0.1:1/</a:Address></a:From>'
            '<a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>'
            '<a:To>{to}</a:To></s:Header><s:Body><cs:authorizeRequest><cs:idTag>HANDMADE</cs:idTag>'
            '</cs:authorizeRequest></s:Body></s:Envelope>')


async def test_crafter_sends_validated_raw_and_malformed_envelopes(tmp_path: Path) -> None:
    peer = await SoapPeerCsms().start()
    wb = await ocppemu.connect(store=f"sqlite:///{tmp_path / 'w.db'}")
    try:
        await wb.create_station({"station_id": "CRAFT1", "csms_url": peer.url, "protocol_version": "1.6"})
        await wb.start_station("CRAFT1")
        for _ in range(200):
            view = await wb.get_station("CRAFT1")
            if view.runtime.state == "connected" and peer.received:
                break
            await asyncio.sleep(0.05)
        await peer.wait_for("StatusNotification")

        validated = await wb.send_message("CRAFT1", SendMessageRequest(action="DataTransfer",
                                                                       payload={"vendorId": "ocppemu.test"}))
        assert validated.outcome == "result" and validated.response == {"status": "Accepted"}
        assert validated.sent.startswith("<s:Envelope") and "dataTransferRequest" in validated.sent

        raw = await wb.send_message("CRAFT1", SendMessageRequest(mode="raw", raw=ENVELOPE.format(to=peer.url)))
        assert raw.outcome == "result" and raw.message_id == "crafted-1"
        assert raw.response == {"idTagInfo": {"status": "Accepted"}}
        assert (await peer.wait_for("Authorize"))[0].payload["idTag"] == "HANDMADE"
        assert peer.errors == []

        broken = await wb.send_message("CRAFT1", SendMessageRequest(mode="raw", raw="<s:Envelope oops", timeout=2))
        assert broken.outcome == "error" and "Fault" in (broken.response_raw or "")  # the CSMS's SOAP Fault
        assert any("not XML" in e for e in peer.errors)  # the CSMS saw exactly the malformed text
        view = await wb.get_station("CRAFT1")
        assert view.runtime.state == "connected"  # a SOAP Fault is an answer, not an outage
    finally:
        await wb.close()  # type: ignore[attr-defined]
        await peer.stop()
