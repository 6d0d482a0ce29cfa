"""Test material for verification/, built from the public formats only (DESIGN §6, contracts.md).

Nothing here imports signing/: a throwaway root CA and document signers are made with
cryptography, tokens with cbor2 and the decimal spelling written out here, so these tests also pin
the wire format independently of the issuing side.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from verification import CertificateStatus, TrustList

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ISSUED = NOW - timedelta(days=1)
ISSUER = "VN-NJRC"
CTI = bytes(range(16))
DIGEST = hashlib.sha256(b'{"schema":1}').digest()[:16]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def kid_of(cert: x509.Certificate) -> bytes:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()[:8]


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ecert tests")])


def make_root(cn: str = "ecert test root") -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn)).issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2025, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2040, 1, 1, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                       critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_dsc(
    root_key: ec.EllipticCurvePrivateKey,
    root_cert: x509.Certificate,
    cn: str = "ecert test DSC",
    not_before: datetime = datetime(2026, 1, 1, tzinfo=UTC),
    not_after: datetime = datetime(2028, 1, 1, tzinfo=UTC),
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    root_ski = root_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn)).issuer_name(root_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False),
                       critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski),
                       critical=False)
        .sign(root_key, hashes.SHA256())
    )
    return key, cert


def der_b64(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")


def jwk_entry(dsc: x509.Certificate, chain: list[x509.Certificate], status: str = "active",
              revoked_at: str | None = None) -> dict[str, Any]:
    numbers = dsc.public_key().public_numbers()
    return {
        "kid": b64url(kid_of(dsc)), "kty": "EC", "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(32, "big")), "y": b64url(numbers.y.to_bytes(32, "big")),
        "x5c": [der_b64(c) for c in [dsc, *chain]],
        "status": status,
        "not_before": dsc.not_valid_before_utc.isoformat().replace("+00:00", "Z"),
        "not_after": dsc.not_valid_after_utc.isoformat().replace("+00:00", "Z"),
        "revoked_at": revoked_at,
    }


def default_claims(ours: dict[int, Any] | None = None) -> dict[Any, Any]:
    """Claims per DESIGN §6; ``ours`` overrides entries of the -70000 map."""
    inner = {1: "LLTP-2026-00000123", 2: 1, 3: "Nguyễn Văn An", 4: "1990-05-17",
             5: "001******345", 6: 0, 7: 0, 8: DIGEST}
    inner.update(ours or {})
    return {1: ISSUER, 6: int(ISSUED.timestamp()), 7: CTI, -70000: inner}


def raw_signature(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


# DESIGN §6: digits of a k-byte group, k = 1..7.
GROUP_WIDTHS = {1: 3, 2: 5, 3: 8, 4: 10, 5: 13, 6: 15, 7: 17}


def encode_token(cose: bytes) -> str:
    """COSE bytes in the token's decimal spelling: 7-byte groups, fixed digits per group size."""
    groups = [cose[i:i + 7] for i in range(0, len(cose), 7)]
    return "".join(f"{int.from_bytes(g, 'big'):0{GROUP_WIDTHS[len(g)]}d}" for g in groups)


def token_bytes(token: str) -> bytes:
    """The inverse of :func:`encode_token` for well-formed tokens (no checks: tests only)."""
    out = b""
    while token:
        width = 17 if len(token) >= 17 else len(token)
        size = {w: k for k, w in GROUP_WIDTHS.items()}[width]
        out += int(token[:width]).to_bytes(size, "big")
        token = token[width:]
    return out


def cose_sign1(
    key: ec.EllipticCurvePrivateKey,
    kid: bytes,
    claims: dict[Any, Any] | None = None,
    *,
    payload: bytes | None = None,
    protected: dict[Any, Any] | None = None,
    der: bool = False,
) -> bytes:
    protected_bytes = cbor2.dumps(protected if protected is not None else {1: -7, 4: kid},
                                  canonical=True)
    if payload is None:
        payload = cbor2.dumps(claims if claims is not None else default_claims(), canonical=True)
    to_sign = cbor2.dumps(["Signature1", protected_bytes, b"", payload])
    sig = key.sign(to_sign, ec.ECDSA(hashes.SHA256())) if der else raw_signature(key, to_sign)
    return cbor2.dumps(cbor2.CBORTag(18, [protected_bytes, {}, payload, sig]))


@dataclass
class Factory:
    root_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate
    dsc_key: ec.EllipticCurvePrivateKey
    dsc: x509.Certificate
    other_root_key: ec.EllipticCurvePrivateKey
    other_root: x509.Certificate
    other_dsc_key: ec.EllipticCurvePrivateKey
    other_dsc: x509.Certificate

    @property
    def kid(self) -> bytes:
        return kid_of(self.dsc)

    def trust_dict(self, status: str = "active", revoked_at: str | None = None,
                   extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return {"issuer": ISSUER,
                "keys": [jwk_entry(self.dsc, [self.root], status, revoked_at), *(extra or [])]}

    def trust_list(self, status: str = "active", root: Any = None, **kw: Any) -> TrustList:
        return TrustList.from_json(self.trust_dict(status, **kw), root=root)

    def token(self, claims: dict[Any, Any] | None = None, *, key: Any = None,
              kid: bytes | None = None, **kw: Any) -> str:
        return encode_token(cose_sign1(key or self.dsc_key, self.kid if kid is None else kid,
                                       claims, **kw))

    def url(self, token: str) -> str:
        return f"https://ecert.example.vn/v/{token}"


@pytest.fixture(scope="session")
def factory() -> Factory:
    root_key, root = make_root()
    dsc_key, dsc = make_dsc(root_key, root)
    other_root_key, other_root = make_root("someone else's root")
    other_dsc_key, other_dsc = make_dsc(other_root_key, other_root, "someone else's DSC")
    return Factory(root_key, root, dsc_key, dsc, other_root_key, other_root, other_dsc_key,
                   other_dsc)


def status_of(state: str = "valid", **kw: Any):
    """A status_lookup answering ``state`` for every cti (and recording what it was asked)."""
    asked: list[bytes] = []

    def lookup(cti: bytes) -> CertificateStatus:
        asked.append(cti)
        return CertificateStatus(state, **kw)  # type: ignore[arg-type]

    lookup.asked = asked  # type: ignore[attr-defined]
    return lookup


@pytest.fixture
def valid_status():
    return status_of("valid")


# -- PDFs --------------------------------------------------------------------------------------

def make_pdf(text: str = "PHIẾU LÝ LỊCH TƯ PHÁP SỐ 1") -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, pageCompression=0)  # text visible for flip tests
    c.drawString(72, 760, text.encode("ascii", "replace").decode())
    c.drawString(72, 740, "LLTP-2026-00000123")
    c.showPage()
    c.save()
    return buf.getvalue()


def sign_pdf(pdf: bytes, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate,
             chain: list[x509.Certificate], token: str | None) -> bytes:
    """Put ``token`` in /Info /EcertToken and PAdES-sign in the same revision (as signing/ does)."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigFieldSpec
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    if token is not None:
        info = generic.DictionaryObject()
        try:
            info.update(writer.trailer["/Info"])
        except KeyError:
            pass
        info[generic.NameObject("/EcertToken")] = generic.TextStringObject(token)
        writer.set_info(info)
    signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        signing_key=asn1_keys.PrivateKeyInfo.load(key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())),
        cert_registry=SimpleCertificateStore.from_certs(
            [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in chain]),
    )
    out = io.BytesIO()
    signers.sign_pdf(
        writer,
        signers.PdfSignatureMetadata(field_name="Signature1", subfilter=None),
        signer=signer,
        new_field_spec=SigFieldSpec("Signature1"),
        output=out,
    )
    return out.getvalue()


def pdf_with_info_token(token: str) -> bytes:
    """An unsigned PDF that carries a token (it claims to be ours)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(make_pdf()))
    info = generic.DictionaryObject()
    info.update(writer.trailer["/Info"])
    info[generic.NameObject("/EcertToken")] = generic.TextStringObject(token)
    writer.set_info(info)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="session")
def our_token(factory: Factory) -> str:
    """One genuine token (ECDSA is randomised: each factory.token() call differs)."""
    return factory.token()


@pytest.fixture(scope="session")
def signed_pdf(factory: Factory, our_token: str) -> bytes:
    return sign_pdf(make_pdf(), factory.dsc_key, factory.dsc, [factory.root], our_token)


def random_bytes(n: int) -> bytes:
    return os.urandom(n)


@pytest.fixture(scope="session")
def kit():
    """This module, so tests reach its helpers without ``import conftest`` (ambiguous in pytest)."""
    import sys

    return sys.modules[__name__]


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- a fake issuing server (trust list + POST /api/v1/verifications) ---------------------------

@dataclass
class FakeServer:
    url: str
    trust: dict[str, Any]
    verdict: dict[str, Any] | int  # JSON answer for POST, or an HTTP status to fail with
    posted: list[Any]


@pytest.fixture
def fake_server(factory):
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    state = FakeServer(url="", trust=factory.trust_dict(),
                       verdict={"outcome": "valid", "checks": {}, "certificate": None,
                                "checked_at": "2026-11-23T09:00:00Z"}, posted=[])

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def _send(self, status: int, body: Any) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            if self.path == "/.well-known/ecert/trust-list.json":
                self._send(200, state.trust)
            elif self.path == "/moved.json":  # a redirect off the machine over plain http
                self.send_response(302)
                self.send_header("Location", "http://ecert.example.vn/trust-list.json")
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._send(404, {"title": "not found"})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.posted.append(json.loads(body))
            if self.path != "/api/v1/verifications":
                self._send(404, {"title": "not found"})
            elif isinstance(state.verdict, int):
                self._send(state.verdict, {"title": "error"})
            else:
                self._send(200, state.verdict)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
