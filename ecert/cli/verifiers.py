"""`flask --app wsgi ecert verifiers ...` and `... verifications prune`.

- ``verifiers create --name N [--quota 600/minute]``: a verifier organisation; its API key is
  printed once (only its hash is stored). ``verifiers list``, ``verifiers disable ID``.
- ``verifications prune [--days N]``: delete the verification events older than the retention
  (ECERT_VERIFICATION_RETENTION_DAYS, default 365): run it daily (cron, a systemd timer).

Every change is audited with the operating-system user who ran the command.
"""

from __future__ import annotations

from typing import Any

import click
from flask.cli import AppGroup

from ecert.cli.common import cli_actor, fail, out, resources, unit_of_work
from ecert.db import utcnow
from ecert.errors import DomainError
from ecert.models import VerifierOrganisation
from ecert.services import verification as verification_service
from ecert.services import verifiers as verifier_service

verifiers_cli = AppGroup("verifiers", help="Registered verifier organisations (X-Api-Key).")
verifications_cli = AppGroup("verifications", help="The verification log: retention.")


def _summary(organisation: VerifierOrganisation) -> dict[str, Any]:
    return {
        "id": organisation.id,
        "name": organisation.name,
        "quota": organisation.quota,
        "created_at": organisation.created_at.isoformat(),
        "disabled_at": organisation.disabled_at.isoformat() if organisation.disabled_at else None,
    }


@verifiers_cli.command("create")
@click.option("--name", required=True, help="The organisation's name, as the holder will read it.")
@click.option("--quota", default=verifier_service.DEFAULT_QUOTA, show_default=True, help="Its own rate limit.")
@click.option("--json", "as_json", is_flag=True)
def create_command(name: str, quota: str, as_json: bool) -> None:
    """Register an organisation and print its API key (shown this once)."""
    with unit_of_work() as session:
        try:
            made = verifier_service.create_verifier(session, name, quota=quota, actor=cli_actor())
        except DomainError as error:
            raise fail(error) from None
        data = {**_summary(made.organisation), "api_key": made.api_key}
    text = "\n".join(
        [
            f"verifier {data['name']} ({data['id']}), quota {data['quota']}",
            f"API key (shown once): {data['api_key']}",
            "Give it to the organisation over a safe channel; they send it as the X-Api-Key header.",
        ]
    )
    out(data, as_json, text)


@verifiers_cli.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_command(as_json: bool) -> None:
    """Every organisation with its quota and state (never a key)."""
    with unit_of_work() as session:
        rows = [_summary(organisation) for organisation in verifier_service.list_verifiers(session)]
    text = (
        "\n".join(
            f"{r['id']}  {r['name']:<40} {r['quota']:<16} {'disabled' if r['disabled_at'] else 'active'}" for r in rows
        )
        or "no verifier organisations"
    )
    out(rows, as_json, text)


@verifiers_cli.command("disable")
@click.argument("verifier_id")
@click.option("--json", "as_json", is_flag=True)
def disable_command(verifier_id: str, as_json: bool) -> None:
    """Disable an organisation: its key is refused (401) from its next request on."""
    with unit_of_work() as session:
        try:
            organisation = verifier_service.disable_verifier(session, verifier_id, actor=cli_actor())
        except DomainError as error:
            raise fail(error) from None
        data = _summary(organisation)
    out(data, as_json, f"verifier {data['name']} ({data['id']}) disabled")


@verifications_cli.command("prune")
@click.option("--days", type=click.IntRange(min=1), default=None, help="Override the retention for this run.")
@click.option("--json", "as_json", is_flag=True)
def prune_command(days: int | None, as_json: bool) -> None:
    """Delete the verification events older than the retention (ECERT_VERIFICATION_RETENTION_DAYS)."""
    retention = days or resources().settings.verification_retention_days
    now = utcnow()
    with unit_of_work() as session:
        deleted = verification_service.prune_events(session, retention_days=retention, actor=cli_actor(), now=now)
    data = {"deleted": deleted, "retention_days": retention, "at": now.isoformat()}
    out(data, as_json, f"{deleted} verification event(s) older than {retention} days deleted")
