"""Staff: login time (the password hash) and revocation-to-visible time across 2 workers.

TOTP codes are single-use per account: a code is accepted only for a time-step above the last
one accepted. Each run uses its own supervisor, so a run needs no wait for the next 30 s step:
it logs in with the codes of steps s-1 and s and steps up (revocation) with s+1, all inside the
server's ±1 step window. A run starts only with at least MARGIN seconds left in the step.
"""
from __future__ import annotations

import json
import secrets
import time

from bench.client import CitizenFactory, call
from bench.common import RUNS, Results, log
from bench.e2e import Issued, certificate_detail, issue_some, verification_available
from bench.inproc import password_hash
from bench.server import ROOT, Server

SECTION = "staff (2 workers)"
MARGIN = 8.0  # seconds left in the TOTP step before a run starts
POLL_LIMIT = 300  # verifications at most while waiting for 'revoked' (and 10 s)
FOLLOW_UP = 20  # verifications after the first 'revoked', each on a new connection


def _totp(secret: str, step: int) -> str:
    import pyotp

    from ecert import security

    return pyotp.TOTP(secret, digits=security.TOTP_DIGITS, interval=security.TOTP_INTERVAL).generate_otp(step)


def _step_with_margin() -> int:
    from ecert import security

    interval = security.TOTP_INTERVAL
    left = interval - (time.time() % interval)
    if left < MARGIN:
        log(f"waiting {left:.1f} s for the next TOTP step")
        time.sleep(left + 0.2)
    return int(time.time()) // interval


def _login(server: Server, username: str, password: str, code: str) -> tuple[int, float, dict]:
    answer = call(server.base, "POST", "/api/v1/staff/sessions",
                  {"username": username, "password": password, "totp": code})
    return answer.status, answer.seconds * 1000, answer.json() or {}


def staff_figures(server: Server, factory: CitizenFactory, results: Results) -> None:
    password_hash(results, SECTION)
    if not (ROOT / "api" / "staff" / "views.py").exists():
        results.text(SECTION, "login and revocation", "not available yet", note="api/staff/views.py does not exist")
        return
    probe = call(server.base, "POST", "/api/v1/staff/sessions", {"username": "x", "password": "y", "totp": "000000"})
    if probe.status == 404:
        results.text(SECTION, "login and revocation", "not available yet", note="POST /api/v1/staff/sessions is 404")
        return

    accounts = []
    for i in range(RUNS + 1):
        role = "officer" if i == RUNS else "supervisor"
        password = secrets.token_urlsafe(18)
        out = server.instance.flask("staff", "create", "--username", f"bench-{role}-{i}", "--role", role,
                                    "--password-stdin", "--json", stdin=password + "\n")
        data = json.loads(out)
        accounts.append((data["username"], password, data["totp_secret"]))
    wrong_pw_account = accounts.pop()

    # One certificate per revocation run, and whether verification exists at all.
    certificates = issue_some(server, factory, RUNS)
    qr = certificate_detail(server, certificates[0])["qr_text"]
    can_verify, _ = verification_available(server, qr)

    ok_ms, unknown_ms, wrong_ms, visible_ms, total_ms = [], [], [], [], []
    stale_total = checks_total = 0
    problems: list[str] = []
    for run_no, (username, password, secret) in enumerate(accounts):
        log(f"staff run {run_no + 1}/{RUNS}")
        step = _step_with_margin()
        status, ms, _ = _login(server, "bench-nobody", password, _totp(secret, step))
        unknown_ms.append(ms) if status == 401 else problems.append(f"unknown user: HTTP {status}")
        user, _, wrong_secret = wrong_pw_account
        status, ms, _ = _login(server, user, "wrong-" + password, _totp(wrong_secret, step))
        wrong_ms.append(ms) if status == 401 else problems.append(f"wrong password: HTTP {status}")
        times = []
        token = None
        for offset in (-1, 0):
            status, ms, body = _login(server, username, password, _totp(secret, step + offset))
            if status == 201:
                times.append(ms)
                token = body.get("token")
            else:
                problems.append(f"login with code of step {offset:+d}: HTTP {status} {body.get('code') or body}")
        if times:
            ok_ms.append(sum(times) / len(times))
        if not (can_verify and token):
            continue
        stale, checks, visible, total = _revoke_and_watch(server, certificates[run_no], token,
                                                          _totp(secret, step + 1), problems)
        stale_total += stale
        checks_total += checks
        if visible is not None:
            visible_ms.append(visible)
            total_ms.append(total)

    results.add(SECTION, "login (POST /api/v1/staff/sessions, success)", ok_ms, "ms",
                note="password (scrypt) + TOTP + session; mean of 2 logins a run")
    results.add(SECTION, "login, unknown user (401)", unknown_ms, "ms", note="should match a wrong password")
    results.add(SECTION, "login, wrong password (401)", wrong_ms, "ms")
    if not can_verify:
        results.text(SECTION, "revocation-to-visible", "not available yet",
                     note="POST /api/v1/verifications answers 404 (api/public/verifications.py is being written)")
    elif visible_ms:
        results.add(SECTION, "revocation-to-visible: revoke answered → first 'revoked' verification",
                    visible_ms, "ms", note="the first check after the answer; new connection per check, "
                                           "either worker may answer")
        results.add(SECTION, "revocation-to-visible: revoke sent → first 'revoked' verification", total_ms, "ms")
        results.add(SECTION, "stale answers after the first 'revoked'", [stale_total], f"of {checks_total}",
                    note="checks spread over both workers", digits=0)
    for problem in problems:
        results.note(f"staff: {problem}")


def _revoke_and_watch(server: Server, issued: Issued, token: str, code: str,
                      problems: list[str]) -> tuple[int, int, float | None, float | None]:
    qr = certificate_detail(server, issued)["qr_text"]
    before = (call(server.base, "POST", "/api/v1/verifications", {"qr": qr}).json() or {}).get("outcome")
    if before != "valid":
        problems.append(f"before revocation the verification said {before!r}")
    sent = time.perf_counter()
    answer = call(server.base, "POST", f"/api/v1/staff/certificates/{issued.certificate_id}/revoke",
                  {"reason": "issued_in_error", "note": "bench", "totp": code}, token=token)
    answered = time.perf_counter()
    if answer.status != 200:
        problems.append(f"revoke: HTTP {answer.status} {answer.body[:200]!r}")
        return 0, 0, None, None
    deadline = answered + 10
    first = None
    for polls in range(1, POLL_LIMIT + 1):
        outcome = (call(server.base, "POST", "/api/v1/verifications", {"qr": qr}).json() or {}).get("outcome")
        if outcome == "revoked":
            first = time.perf_counter()
            break
        if time.perf_counter() > deadline:
            break
    if first is None:
        problems.append("revocation not visible within 10 s")
        return 0, 0, None, None
    if polls > 1:
        problems.append(f"revocation visible only at the check number {polls} after the revoke answered")
    stale = 0
    for _ in range(FOLLOW_UP):
        outcome = (call(server.base, "POST", "/api/v1/verifications", {"qr": qr}).json() or {}).get("outcome")
        stale += outcome != "revoked"
    return stale, FOLLOW_UP, (first - answered) * 1000, (first - sent) * 1000
