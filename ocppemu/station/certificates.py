"""Certificates of a station: real CSRs (for SignCertificate) and OCPP certificate hash data."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def make_csr(station_id: str, organization: str, key: ec.EllipticCurvePrivateKey | None = None) -> str:
    """A PEM certificate signing request for the station (CN = station id, O = CPO name), as OCPP requires."""
    key = key or make_key()
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, station_id),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization or "ocppemu"),
    ])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def first_certificate(pem: str) -> x509.Certificate:
    """The first certificate of a PEM chain; ``ValueError`` with a readable reason when there is none."""
    try:
        certs = x509.load_pem_x509_certificates(pem.encode())
    except ValueError as exc:
        raise ValueError(f"not a PEM certificate: {exc}") from None
    if not certs:
        raise ValueError("no certificate in the PEM text")
    return certs[0]


def certificate_hash_data(pem: str) -> dict[str, str]:
    """OCPP ``certificateHashData`` (SHA256 of issuer name and issuer key, serial number in hex)."""
    cert = first_certificate(pem)
    issuer_name_hash = hashes.Hash(hashes.SHA256())
    issuer_name_hash.update(cert.issuer.public_bytes())
    # Without the issuer certificate at hand, the authority key identifier stands in for the issuer key hash.
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier or b""
    except x509.ExtensionNotFound:
        aki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
    key_hash = hashes.Hash(hashes.SHA256())
    key_hash.update(aki)
    return {"hashAlgorithm": "SHA256", "issuerNameHash": issuer_name_hash.finalize().hex(),
            "issuerKeyHash": key_hash.finalize().hex(), "serialNumber": format(cert.serial_number, "x")}
