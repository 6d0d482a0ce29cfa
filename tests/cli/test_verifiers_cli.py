"""`ecert verifiers create|list|disable` and `ecert verifications prune` as an operator reads them
(text), and that every printing command also speaks JSON (the API tests use the JSON)."""
from __future__ import annotations

import json

from sqlalchemy import select

from ecert.models import VerifierOrganisation


def _run(app, *args):
    result = app.test_cli_runner().invoke(args=["ecert", *args])
    return result.exit_code, result.output


def test_create_prints_the_key_once_and_list_never(app, db):
    code, text = _run(app, "verifiers", "create", "--name", "Công ty Ví Dụ", "--quota", "120/minute")
    assert code == 0
    key = next(line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("API key (shown once)"))
    assert key.startswith("ev_") and "120/minute" in text
    code, listing = _run(app, "verifiers", "list")
    assert code == 0 and "Công ty Ví Dụ" in listing and "active" in listing and key not in listing
    db.expire_all()
    stored = db.scalars(select(VerifierOrganisation)).one()
    assert key.rsplit("_", 1)[1] not in (stored.key_sha256, stored.name)
    code, text = _run(app, "verifiers", "disable", stored.id)
    assert code == 0 and "disabled" in text
    assert "disabled" in _run(app, "verifiers", "list")[1]
    again = json.loads(_run(app, "verifiers", "disable", stored.id, "--json")[1])
    assert again["disabled_at"]  # disabling twice is once


def test_empty_list_and_prune_in_words(app):
    assert _run(app, "verifiers", "list") == (0, "no verifier organisations\n")
    code, text = _run(app, "verifications", "prune")
    assert code == 0 and "older than 365 days deleted" in text
    assert _run(app, "verifications", "prune", "--days", "0")[0] != 0
