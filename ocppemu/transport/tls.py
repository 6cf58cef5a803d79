"""TLS client contexts for ``wss://`` connections (OCPP security profiles 2 and 3).

Verification is on by default: the server certificate must chain to ``ca_cert`` (or to the system store when
no bundle is given) and match the host name. A client certificate and key turn on mutual TLS (security
profile 3).
``insecure_skip_verify`` turns verification off for lab servers with self-signed certificates; every context
built that way logs a WARNING, because a station that trusts anyone can be silently intercepted.
"""

from __future__ import annotations

import logging
import os
import ssl

from ocppemu.config.station import TlsConfig
from ocppemu.transport.base import TransportError

log = logging.getLogger(__name__)


class TlsConfigError(TransportError):
    """A TLS setting points at a file that is missing, unreadable or not what it should be."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


def _check_file(path: str, what: str) -> None:
    if not os.path.exists(path):
        raise TlsConfigError(f"{what} file {path!r} does not exist")
    if not os.path.isfile(path):
        raise TlsConfigError(f"{what} path {path!r} is not a file")
    if not os.access(path, os.R_OK):
        raise TlsConfigError(f"{what} file {path!r} is not readable (check its permissions)")


def client_ssl_context(
    *,
    ca_cert: str | None = None,
    client_cert: str | None = None,
    client_key: str | None = None,
    insecure_skip_verify: bool = False,
    station_id: str | None = None,
) -> ssl.SSLContext:
    """Build the client context for a station.

    ``ca_cert``: PEM bundle of trusted CAs; ``None`` uses the system store. ``client_cert`` (+ ``client_key``,
    or a single PEM holding both) enables mutual TLS. TLS 1.2 is the minimum, as the OCPP security whitepaper
    requires. Raises :class:`TlsConfigError` naming the file and the problem when a file is missing,
    unreadable, not PEM, or the key does not match the certificate.
    """
    if client_key and not client_cert:
        raise TlsConfigError("a client key was given without a client certificate")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        log.warning(
            "TLS certificate verification is DISABLED%s (insecure_skip_verify): the CSMS identity is not "
            "checked and the connection can be intercepted; use this only against lab servers",
            f" for station {station_id}" if station_id else "",
        )
    else:
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        if ca_cert:
            _check_file(ca_cert, "CA bundle")
            try:
                ctx.load_verify_locations(cafile=ca_cert)
            except (ssl.SSLError, ValueError) as exc:
                raise TlsConfigError(f"CA bundle {ca_cert!r} holds no usable PEM certificate: {exc}") from exc
            except OSError as exc:
                raise TlsConfigError(f"cannot read CA bundle {ca_cert!r}: {exc.strerror or exc}") from exc
        else:
            ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if client_cert:
        _check_file(client_cert, "client certificate")
        if client_key:
            _check_file(client_key, "client key")
        try:
            ctx.load_cert_chain(certfile=client_cert, keyfile=client_key or None)
        except ssl.SSLError as exc:
            raise TlsConfigError(
                f"client certificate {client_cert!r} / key {client_key!r} cannot be used "
                f"(not PEM, encrypted, or the key does not match the certificate): {exc}"
            ) from exc
        except OSError as exc:
            raise TlsConfigError(f"cannot read client certificate or key: {exc.strerror or exc}") from exc
    return ctx


def ssl_context_from_config(tls: TlsConfig, *, station_id: str | None = None) -> ssl.SSLContext:
    """:func:`client_ssl_context` from a station's :class:`~ocppemu.config.station.TlsConfig`."""
    return client_ssl_context(
        ca_cert=tls.ca_cert or None,
        client_cert=tls.client_cert or None,
        client_key=tls.client_key or None,
        insecure_skip_verify=tls.insecure_skip_verify,
        station_id=station_id,
    )
