"""python -m verification: verdicts in Vietnamese/English, exit codes, inputs of every kind."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import qrcode
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from verification.cli import main

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def trust_file(tmp_path, factory) -> str:
    path = tmp_path / "trust-list.json"
    path.write_text(json.dumps(factory.trust_dict()))
    return str(path)


def run(kit, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err, now=kit.NOW)
    return code, out.getvalue(), err.getvalue()


def test_offline_prints_signature_genuine_status_not_checked(factory, kit, trust_file):
    code, out, _ = run(kit, factory.url(factory.token()), "--trust-list", trust_file)
    assert code == 3
    assert "KHÔNG KIỂM TRA ĐƯỢC TRẠNG THÁI" in out
    assert "Chữ ký số là thật" in out and "ngoại tuyến" in out
    assert "Nguyễn Văn An" in out and "Không có án tích" in out
    code, out, _ = run(kit, factory.token(), "--trust-list", trust_file, "--lang", "en")
    assert code == 3 and "Signature genuine, revocation status NOT checked (offline)" in out


def test_online_valid(factory, kit, fake_server):
    token = factory.token()
    code, out, _ = run(kit, factory.url(token), "--server", fake_server.url)
    assert code == 0
    assert "HỢP LỆ" in out and "✔" in out
    assert fake_server.posted == [{"qr": token}]  # only the token goes to the server


def test_online_valid_in_english_and_json(factory, kit, fake_server):
    code, out, _ = run(kit, factory.token(), "--server", fake_server.url, "--lang", "en")
    assert code == 0 and "VALID" in out and "Certificate number: LLTP-2026-00000123" in out
    code, out, _ = run(kit, factory.token(), "--server", fake_server.url, "--json")
    data = json.loads(out)
    assert code == 0 and data["outcome"] == "valid"
    assert set(data) == {"outcome", "checks", "certificate", "checked_at"}


@pytest.mark.parametrize(
    "server_outcome,code,text",
    [
        ("revoked", 1, "ĐÃ BỊ THU HỒI"),
        ("not_found", 1, "KHÔNG TÌM THẤY"),
        ("status_unavailable", 3, "KHÔNG KIỂM TRA ĐƯỢC TRẠNG THÁI"),
        ("signer_revoked", 3, "Máy chủ trả lời: Khóa ký đã bị thu hồi"),
    ],
)
def test_online_negative_answers(factory, kit, fake_server, server_outcome, code, text):
    fake_server.verdict = {
        "outcome": server_outcome,
        "checks": {},
        "certificate": None,
        "checked_at": "2026-11-23T09:00:00Z",
    }
    got, out, _ = run(kit, factory.token(), "--server", fake_server.url)
    assert got == code and text in out


@pytest.mark.parametrize("status", [429, 500, 503])
def test_online_server_errors_fail_closed(factory, kit, fake_server, status):
    fake_server.verdict = status
    code, out, _ = run(kit, factory.token(), "--server", fake_server.url)
    assert code == 3 and "KHÔNG KIỂM TRA ĐƯỢC TRẠNG THÁI" in out


def test_server_unreachable(factory, kit):
    code, _, err = run(kit, factory.token(), "--server", "http://127.0.0.1:9", "--timeout", "2")
    assert code == 3 and "trust list" in err


def test_local_trust_list_with_online_status(factory, kit, fake_server, trust_file):
    code, out, _ = run(kit, factory.token(), "--trust-list", trust_file, "--server", fake_server.url)
    assert code == 0 and "HỢP LỆ" in out


def test_junk_says_not_ours(factory, kit, trust_file):
    for junk in ("hello", "https://example.com/v/", "https://evil.example/?x=1", "A" * 10_000):
        code, out, _ = run(kit, junk, "--trust-list", trust_file)
        assert code == 1
        assert "KHÔNG PHẢI MÃ CỦA DỊCH VỤ NÀY" in out
        assert "hết hạn" not in out.lower()  # never "expired"


def test_tampered_and_unknown_issuer(factory, kit, trust_file):
    forged = factory.token(key=ec.generate_private_key(ec.SECP256R1()))
    code, out, _ = run(kit, forged, "--trust-list", trust_file)
    assert code == 1 and "KHÔNG HỢP LỆ — ĐÃ BỊ SỬA ĐỔI" in out
    unknown = factory.token(kid=b"\x05" * 8)
    code, out, _ = run(kit, unknown, "--trust-list", trust_file, "--lang", "en")
    assert code == 1 and "UNKNOWN ISSUER" in out


def test_pinned_root(factory, kit, tmp_path, trust_file):
    other = tmp_path / "other-root.pem"
    other.write_bytes(factory.other_root.public_bytes(serialization.Encoding.PEM))
    code, out, _ = run(kit, factory.token(), "--trust-list", trust_file, "--root", str(other))
    assert code == 1 and "KHÔNG RÕ CƠ QUAN CẤP" in out
    ours = tmp_path / "root.pem"
    ours.write_bytes(factory.root.public_bytes(serialization.Encoding.PEM))
    code, _, _ = run(kit, factory.token(), "--trust-list", trust_file, "--root", str(ours))
    assert code == 3


def test_pdf_file(factory, kit, tmp_path, trust_file, fake_server, signed_pdf, our_token):
    path = tmp_path / "phieu.pdf"
    path.write_bytes(signed_pdf)
    code, out, _ = run(kit, str(path), "--trust-list", trust_file)
    assert code == 3 and "Chữ ký số là thật" in out
    code, out, _ = run(kit, str(path), "--server", fake_server.url)
    assert code == 0 and "HỢP LỆ" in out
    assert fake_server.posted == [{"qr": our_token}]
    tampered = tmp_path / "tampered.pdf"
    at = signed_pdf.find(b"LLTP-2026")
    tampered.write_bytes(signed_pdf[:at] + b"X" + signed_pdf[at + 1 :])
    code, out, _ = run(kit, str(tampered), "--server", fake_server.url)
    assert code == 1 and "ĐÃ BỊ SỬA ĐỔI" in out


def test_image_file(factory, kit, tmp_path, fake_server):
    path = tmp_path / "photo.png"
    qrcode.make(factory.url(factory.token())).save(path)
    code, out, _ = run(kit, str(path), "--server", fake_server.url)
    assert code == 0 and "HỢP LỆ" in out
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("L", (100, 100), 255).save(blank)
    code, _, err = run(kit, str(blank), "--server", fake_server.url)
    assert code == 2 and "QR" in err


def test_stdin(factory, kit, trust_file):
    code, out, _ = run(kit, "-", "--trust-list", trust_file, stdin=factory.url(factory.token()))
    assert code == 3


def test_usage_errors(factory, kit, tmp_path, trust_file):
    assert run(kit, factory.token())[0] == 2  # no trust source
    assert run(kit)[0] == 2  # no target
    assert run(kit, factory.token(), "--trust-list", trust_file, "--lang", "fr")[0] == 2
    assert run(kit, factory.token(), "--trust-list", str(tmp_path / "missing.json"))[0] == 2
    assert run(kit, str(tmp_path / "missing.pdf"), "--trust-list", trust_file)[0] == 2
    binary = tmp_path / "blob.bin"
    binary.write_bytes(os.urandom(5000))
    assert run(kit, str(binary), "--trust-list", trust_file)[0] == 2
    assert run(kit, factory.token(), "--trust-list", trust_file, "--root", str(tmp_path / "none.pem"))[0] == 2
    assert run(kit, factory.token(), "--server", "ftp://example.com")[0] == 3


def test_python_dash_m(factory, kit, tmp_path, trust_file):
    # The real entry point in a subprocess (real clock): a token issued early in the DSC's life.
    claims = kit.default_claims()
    claims[6] = int(factory.dsc.not_valid_before_utc.timestamp()) + 86400
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "verification", factory.url(factory.token(claims)), "--trust-list", trust_file],
        capture_output=True,
        cwd=str(tmp_path),
        env=env,
        timeout=120,
    )
    assert proc.returncode == 3, proc.stderr.decode()
    assert "KHÔNG KIỂM TRA ĐƯỢC TRẠNG THÁI" in proc.stdout.decode("utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "verification", "junk", "--trust-list", trust_file],
        capture_output=True,
        cwd=str(tmp_path),
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1 and "Không phải mã của dịch vụ này".upper() in proc.stdout.decode()


def test_a_valid_form2_never_asks_to_compare_a_birth_date(factory, kit, fake_server):
    # A Form 2 shows no birth date: its verdict asks to compare the number and name only.
    claims = kit.default_claims()
    claims[-70000] = {k: v for k, v in claims[-70000].items() if k in (1, 3, 8)} | {2: 2}
    for lang, birth in (("vi", "ngày sinh"), ("en", "birth")):
        code, out, _ = run(kit, factory.token(claims), "--server", fake_server.url, "--lang", lang)
        assert code == 0, out
        assert birth not in out.lower()
