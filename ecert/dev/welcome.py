"""Printed by `make run` before gunicorn starts: a demo citizen's token and what to try."""

from __future__ import annotations

from datetime import date

from ecert.config import DEV_WEBHOOK_URL, load_settings
from ecert.dev.demo import DEMO_CITIZENS
from ecert.dev.idp import DevCitizen, dev_token_for


def _receiver_note(url: str) -> str:
    if url == DEV_WEBHOOK_URL:
        return "\n  (the development receiver: each notification is printed below, signature checked)"
    return ""


def main() -> None:
    settings = load_settings()
    pid, name, born, gender, case = DEMO_CITIZENS[0]
    token = dev_token_for(settings, DevCitizen(pid, name, date.fromisoformat(born), gender), ttl_seconds=8 * 3600)
    base = f"http://{settings.bind}"
    body = (
        '{"form_type": 1, "purpose": "Bổ sung hồ sơ xin việc", "copies": 1, "phone": "0912345678", '
        '"email": "an@example.vn", "residence_history": [{"from": "2004-05", "to": null, '
        '"address": "12 Hàng Bài, Hoàn Kiếm, Hà Nội", "province_code": "01"}]}'
    )
    print(f"""
ecert is starting on {base}

Demo citizen: {name} ({pid}) — {case}. Identity token (valid 8 hours):

export TOKEN={token}

Try:
  curl -s {base}/api/v1/me -H "Authorization: Bearer $TOKEN"
  curl -s {base}/api/v1/requests -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
       -H "Idempotency-Key: $(date +%s)" -d '{body}'
  curl -s {base}/api/v1/requests -H "Authorization: Bearer $TOKEN"
  curl -s {base}/api/v1/certificates -H "Authorization: Bearer $TOKEN"
  curl -s {base}/api/v1/events -H "Authorization: Bearer $TOKEN"     (the citizen's change feed)

Notifications: the relay started beside the server signs each change and POSTs it to
{settings.notify_webhook_url}{_receiver_note(settings.notify_webhook_url)}
(docs/notifications.md; `.venv/bin/flask --app wsgi ecert outbox status`).

Other demo citizens: .venv/bin/flask --app wsgi ecert dev-token --pid <one of>""")
    for other_pid, other_name, _, _, other_case in DEMO_CITIZENS[1:]:
        print(f"  {other_pid}  {other_name}: {other_case}")
    print(
        f"""
Staff (review queue, refusal, revocation): create an account, add its TOTP secret to an
authenticator app, then sign in to the console at {base}/staff/ (or the staff API,
POST /api/v1/staff/sessions; docs/staff.md):
  .venv/bin/flask --app wsgi ecert staff create --username officer1 --role officer

Open in a browser: {base}/api/v1/docs (API), {base}/.well-known/ecert/trust-list.json (trust list),
and a certificate's qr_text (from GET /api/v1/certificates/<id>) for the verification page.
""",
        flush=True,
    )


if __name__ == "__main__":
    main()
