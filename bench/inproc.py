"""In-process figures on one core: the issuance parts, offline verification, the password hash."""
from __future__ import annotations

import logging
import multiprocessing
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from bench.common import RUNS, Results, log, rate_loop, ratios
from bench.server import PUBLIC_BASE_URL, Instance
from ecert.wiring import resources_of

SECTION_PARTS = "issuance parts (in-process, 1 core)"
# The key of issuance_parts' answer holding the combined rate of two processes at once.
TWO_CORES = "two_cores"
SECTION_OFFLINE = "offline verification (1 core)"

# (key, label): the issuance path in order. The QR figures are informational: the vector QR is
# drawn inside the PDF render, and the PNG is made only when asked for (GET .../qr.png).
PATH_PARTS = [
    ("content", "content build (record lookup + build_content)"),
    ("canonical", "canonical JSON + digest"),
    ("cose", "COSE sign (claims + ES256 + token spelling)"),
    ("pdf", "PDF render (ReportLab, incl. vector QR)"),
    ("pades", "PAdES sign (pyHanko)"),
]
QR_PARTS = [
    ("qr_vector", "QR for the PDF (version, mask choice, module matrix)"),
    ("pdf_no_qr", "PDF render without the QR (its symbol already made)"),
    ("qr_png", "QR PNG drawn (once per certificate and worker since the image cache)"),
]


@dataclass
class Context:
    app: Any
    session: Any
    signer: Any
    trust_list: Any
    settings: Any
    instance: Instance


def open_context(instance: Instance, *, reading: bool = False) -> Context:
    """The app, a session, the active signer and the trust list of ``instance``, in this process.

    ``reading``: the session begins no transaction (on SQLite it would hold the write lock from
    its first statement, and a second process doing the same would wait for it).
    """
    instance.apply_to_process()
    from ecert import create_app
    from ecert.db import reads_only
    from verification import TrustList

    app = create_app()
    logging.getLogger().setLevel(logging.WARNING)
    session = resources_of(app).sessionmaker()
    if reading:
        reads_only(session)
    keystore = resources_of(app).keystore
    signer = keystore.signer_for_issuance(session, datetime.now(timezone.utc))
    trust_list = TrustList.from_json(keystore.trust_list(session), root=keystore.root_pem())
    return Context(app, session, signer, trust_list, resources_of(app).settings, instance)


class _Issuer:
    """The steps of ecert.services.issuance.issue_certificate, one callable each."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.serial = 0

    def holder(self) -> dict[str, Any]:
        from ecert.domain.validation import ascii_fold

        name = "Nguyễn Văn Minh"
        return {
            "full_name": name, "full_name_ascii": ascii_fold(name), "birth_date": "1990-01-01", "gender": "male",
            "personal_id": "001090999999", "nationality": "Việt Nam", "place_of_birth": None,
            "residence": "12 Hàng Bài, Hoàn Kiếm, Hà Nội", "father_name": None, "mother_name": None,
            "spouse_name": None,
        }

    def content(self) -> dict[str, Any]:
        from ecert.domain.content import build_content
        from ecert.services import records

        self.serial += 1
        now = datetime.now(timezone.utc)
        return build_content(
            number=f"LLTP-{now.year}-{self.serial:08d}", form_type=1, issued_at=now,
            issuer_id=self.ctx.settings.issuer_id, authority=self.ctx.settings.authority_name,
            holder=self.holder(), purpose="Bổ sung hồ sơ xin việc", request_id="bench-" + str(self.serial),
            include_ban_section=False,
            person_record=records.person_record(self.ctx.session, "001090999999"),
        )

    @staticmethod
    def canonical(content: dict[str, Any]) -> tuple[bytes, bytes]:
        from signing.canonical import canonical_json, content_digest

        canonical = canonical_json(content)
        return canonical, content_digest(canonical)

    def token(self, content: dict[str, Any], digest: bytes) -> tuple[str, str]:
        from ecert.domain.content import ban_statement, record_statement
        from signing.cose import TokenClaims, mask_personal_id, qr_text, sign_token

        claims = TokenClaims(
            issuer=self.ctx.settings.issuer_id, issued_at=int(time.time()), cti=secrets.token_bytes(16),
            number=content["number"], form_type=1, holder_name=content["holder"]["full_name"],
            holder_birth_date=content["holder"]["birth_date"], masked_personal_id=mask_personal_id("001090999999"),
            record_statement=record_statement(content), ban_statement=ban_statement(content), digest=digest,
        )
        token = sign_token(claims, self.ctx.signer)
        return token, qr_text(PUBLIC_BASE_URL, token)

    def fresh_texts(self, count: int) -> list[tuple[dict, str, str]]:
        out = []
        for _ in range(count):
            content = self.content()
            _, digest = self.canonical(content)
            token, text = self.token(content, digest)
            out.append((content, token, text))
        return out


def _per_item(fn: Callable[[Any], Any], items: list[Any]) -> tuple[float, list[Any]]:
    """Rate (items/s) of ``fn`` over ``items``, and its results."""
    results = []
    start = time.perf_counter()
    for item in items:
        results.append(fn(item))
    elapsed = time.perf_counter() - start
    return len(items) / elapsed, results


def issuance_parts(ctx: Context, results: Results, *, quick: bool) -> dict[str, list[float]]:
    """Each part per second, median of RUNS runs; returns the per-run rates by part."""
    from ecert.config import DEFAULT_PLACE_OF_ISSUE
    from ecert.domain.content import certificate_wording
    from signing.pdf import render_certificate_pdf, sign_pdf
    from signing.qr import qr_matrix, qr_png

    wording = certificate_wording(DEFAULT_PLACE_OF_ISSUE)

    issuer = _Issuer(ctx)
    fast_seconds = 0.4 if quick else 1.0
    heavy = 4 if quick else 10
    rates: dict[str, list[float]] = {key: [] for key, _ in PATH_PARTS + QR_PARTS}
    # One untimed pass so fonts, the key and imports are loaded (as in a warm worker).
    content, token, text = issuer.fresh_texts(1)[0]
    sign_pdf(render_certificate_pdf(content, wording=wording, qr_text=text, token=token, verification_code="0" * 12),
             ctx.signer)
    for run in range(RUNS):
        log(f"issuance parts, run {run + 1}/{RUNS}")
        contents: list[dict] = []

        def content_step() -> None:
            contents.append(issuer.content())

        rates["content"].append(rate_loop(content_step, seconds=fast_seconds, max_count=20000))
        sample = contents[-1]
        rates["canonical"].append(rate_loop(lambda: issuer.canonical(sample), seconds=fast_seconds, max_count=20000))
        _, digest = issuer.canonical(sample)
        rates["cose"].append(rate_loop(lambda: issuer.token(sample, digest), seconds=fast_seconds, max_count=20000))
        # The heavy parts on fresh tokens: the QR layout is cached per text, as in a worker.
        fresh = issuer.fresh_texts(heavy)
        code = "ABCDEFGH2345"
        rate, pdfs = _per_item(lambda item: render_certificate_pdf(item[0], wording=wording, qr_text=item[2],
                                                                   token=item[1], verification_code=code), fresh)
        rates["pdf"].append(rate)
        # The same texts again: the QR symbol is remembered per text, so this is the render alone.
        rate, _ = _per_item(lambda item: render_certificate_pdf(item[0], wording=wording, qr_text=item[2],
                                                                token=item[1], verification_code=code), fresh)
        rates["pdf_no_qr"].append(rate)
        rate, _ = _per_item(lambda pdf: sign_pdf(pdf, ctx.signer), pdfs)
        rates["pades"].append(rate)
        rate, _ = _per_item(lambda item: qr_matrix(item[2]), issuer.fresh_texts(heavy))
        rates["qr_vector"].append(rate)
        rate, _ = _per_item(lambda item: qr_png(item[2]), issuer.fresh_texts(heavy))
        rates["qr_png"].append(rate)
    for key, label in PATH_PARTS:
        figure = results.add(SECTION_PARTS, label, rates[key], "/s")
        figure.note = f"{1000.0 / figure.median:.3g} ms each"
    for key, label in QR_PARTS:
        figure = results.add(SECTION_PARTS, label, rates[key], "/s")
        figure.note = f"{1000.0 / figure.median:.3g} ms each; not added to the sum"
    _qr_versions(issuer, results)
    per_run_ms = [sum(1000.0 / rates[key][i] for key, _ in PATH_PARTS) for i in range(RUNS)]
    results.add(SECTION_PARTS, "sum of the path's parts", per_run_ms, "ms/cert",
                note="content + canonical + COSE + PDF render + PAdES")
    serial = [1000.0 / ms for ms in per_run_ms]
    results.add(SECTION_PARTS, "issuance rate the parts allow", serial, "/s", note="1 / sum, one core, serial")
    ctx.session.commit()  # on SQLite our transaction holds the write lock: the children must read
    rates[TWO_CORES] = two_processes(ctx.instance, count=8 if quick else 25)
    results.add(SECTION_PARTS, "issuance rate the parts allow on 2 cores (2 processes at once)", rates[TWO_CORES],
                "/s", note="the whole path in a loop in 2 processes started together; certificates of both ÷ wall time")
    results.add(SECTION_PARTS, "2 processes ÷ 1 core (the parts' own scaling)", ratios(rates[TWO_CORES], serial), "×",
                digits=2, note="2× if the 2 cores were free and nothing was shared")
    return rates


SECTION_REQUEST_CPU = "issuance: one request's CPU in-process (1 core, no HTTP)"


def request_cpu(ctx: Context, results: Results, parts_ms: list[float] | None, *, quick: bool) -> None:
    """CPU of one POST /api/v1/requests that is issued at once, through the Flask test client
    (no HTTP server, no client on the cores), against the parts' sum from the same run: the
    share the parts can be of a request whatever HTTP and the client cost (the ceiling of
    "end to end ÷ parts")."""
    from bench.client import CitizenFactory

    client = ctx.app.test_client()
    factory = CitizenFactory(ctx.instance.idp_dir)
    factory.serial = 500_000  # apart from the citizens the servers' runs mint from the same store
    count = 10 if quick else 40

    def post_all(citizens: list[Any]) -> list[float]:
        spent = []
        for citizen in citizens:
            began = time.process_time()
            answer = client.post("/api/v1/requests", json=citizen.request_payload(),
                                 headers={"Authorization": f"Bearer {citizen.token}"})
            spent.append((time.process_time() - began) * 1000)
            body = answer.get_json(silent=True) or {}
            if answer.status_code != 201 or body.get("status") != "issued":
                raise RuntimeError(f"in-process POST: HTTP {answer.status_code}, status {body.get('status')!r}")
        return sorted(spent)

    post_all(factory.mint(5))  # warm: fonts, key, statement caches
    medians = []
    for run in range(RUNS):
        log(f"one request's CPU in-process, run {run + 1}/{RUNS}")
        spent = post_all(factory.mint(count))
        medians.append(spent[len(spent) // 2])
    results.add(SECTION_REQUEST_CPU, "POST /api/v1/requests, issued at once (CPU, median)", medians, "ms",
                note=f"{count} citizens a run; Flask test client, SQLite, process CPU time")
    if parts_ms:
        beyond = [whole - parts for whole, parts in zip(medians, parts_ms, strict=True)]
        results.add(SECTION_REQUEST_CPU, "the request beyond the parts", beyond, "ms",
                    note="validation, identity check, reads, writes, audit chain, outbox, commit, answer")
        results.add(SECTION_REQUEST_CPU, "parts ÷ whole request (ceiling of end to end ÷ parts)",
                    ratios(parts_ms, medians), "×", digits=2,
                    note="what end to end could reach if HTTP, the client and the 2nd core were free")


def _whole_path(issuer: _Issuer, wording: Any, code: str) -> bytes:
    """One certificate through every part of the path, as the automatic issuance runs them."""
    from signing.pdf import render_certificate_pdf, sign_pdf

    content = issuer.content()
    _, digest = issuer.canonical(content)
    token, text = issuer.token(content, digest)
    pdf = render_certificate_pdf(content, wording=wording, qr_text=text, token=token, verification_code=code)
    return sign_pdf(pdf, issuer.ctx.signer)


def _path_loop_process(instance: Instance, count: int, runs: int, start: Any, out: Any) -> None:
    """A child process: ``count`` certificates through the whole path, ``runs`` times, each run
    started together with the other child's (``start`` is a barrier); puts (start, end) per run."""
    from ecert.config import DEFAULT_PLACE_OF_ISSUE
    from ecert.domain.content import certificate_wording

    ctx = open_context(instance, reading=True)
    wording = certificate_wording(DEFAULT_PLACE_OF_ISSUE)
    issuer = _Issuer(ctx)
    _whole_path(issuer, wording, "0" * 12)  # fonts, key and imports loaded, as in a warm worker
    for _ in range(runs):
        start.wait(timeout=300)
        began = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process of the machine
        for _ in range(count):
            _whole_path(issuer, wording, "ABCDEFGH2345")
        out.put((began, time.monotonic()))
    ctx.session.close()


def two_processes(instance: Instance, *, count: int) -> list[float]:
    """The issuance rate the parts allow on 2 cores: the whole path in a loop in two processes at
    once (as two gunicorn workers would run it with nothing else to do), per run the certificates
    of both over the wall time from the first start to the last end."""
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no engine or lock forked
    start, out = context.Barrier(2), context.Queue()
    children = [context.Process(target=_path_loop_process, args=(instance, count, RUNS, start, out))
                for _ in range(2)]
    for child in children:
        child.start()
    rates = []
    try:
        for run in range(RUNS):
            log(f"issuance parts in 2 processes, run {run + 1}/{RUNS}")
            spans = [out.get(timeout=600) for _ in children]
            wall = max(end for _, end in spans) - min(began for began, _ in spans)
            rates.append(len(spans) * count / wall)
    finally:
        for child in children:
            child.join(timeout=60)
            if child.is_alive():
                child.terminate()
    return rates


LONG_NAME = ("Nguyễn Hoàng Phượng Thị Ngọc Diễm Hương Quỳnh Anh Lê Trần Đặng " * 2)[:100]


def _qr_versions(issuer: _Issuer, results: Results) -> None:
    """QR version and PDF size of a Form 1 for the bench's typical name and a 100-character one."""
    from signing.qr import qr_version

    for label, name in (("typical name", None), ("100-character name", LONG_NAME)):
        content = issuer.content()
        if name:
            content["holder"]["full_name"] = name
        _, digest = issuer.canonical(content)
        token, text = issuer.token(content, digest)
        results.add("sizes", f"QR version, Form 1, {label} (in-process)", [qr_version(text)], "",
                    note=f"“{content['holder']['full_name'][:20]}…”, {len(content['holder']['full_name'])} "
                         f"characters, token {len(token)} characters", digits=0)


def offline_verification(ctx: Context, results: Results, *, quick: bool) -> None:
    """verify_token against raw ECDSA P-256 verify, same process, interleaved runs."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    from verification import verify_token
    from verification.status import CertificateStatus
    from verification.token import decode_token, extract_token

    issuer = _Issuer(ctx)
    content, token, text = issuer.fresh_texts(1)[0]
    decoded = decode_token(extract_token(text))
    status = CertificateStatus("valid", digest=decoded.claims.digest)

    def lookup(_cti: bytes) -> CertificateStatus:
        return status  # an in-memory status source: the whole path runs, no database

    outcome = verify_token(text, ctx.trust_list, status_lookup=lookup).outcome
    if outcome != "valid":
        results.note(f"offline verify_token gave {outcome!r} for a fresh token (expected 'valid')")
    key = ctx.signer.certificate.public_key()
    sig = decoded.signature
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    data = decoded.sig_structure()
    algorithm = ec.ECDSA(hashes.SHA256())
    seconds = 0.5 if quick else 1.5
    raw_rates, verify_rates = [], []
    for run in range(RUNS):
        log(f"offline verification, run {run + 1}/{RUNS}")
        raw_rates.append(rate_loop(lambda: key.verify(der, data, algorithm), seconds=seconds, max_count=200000))
        verify_rates.append(rate_loop(lambda: verify_token(text, ctx.trust_list, status_lookup=lookup),
                                      seconds=seconds, max_count=200000))
    results.add(SECTION_OFFLINE, "raw ECDSA P-256 verify (cryptography)", raw_rates, "/s", note="baseline")
    results.add(SECTION_OFFLINE, "verify_token(QR text, trust list, in-memory status)", verify_rates, "/s",
                note=f"outcome {outcome}")
    results.add(SECTION_OFFLINE, "verify_token / raw ECDSA", ratios(verify_rates, raw_rates), "×", digits=2)


def password_hash(results: Results, section: str) -> None:
    """The scrypt check a login pays, in-process."""
    from ecert import security

    stored = security.hash_password("bench-password-123456")
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        security.verify_password("bench-password-123456", stored)
        samples.append((time.perf_counter() - start) * 1000)
    params = security.current_params()
    results.add(section, "scrypt verify in-process", samples, "ms",
                note=f"N=2^{params.n.bit_length() - 1}, r={params.r}, p={params.p}")
