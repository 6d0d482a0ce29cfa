"""`flask --app wsgi ecert ...`: setup (init), demo data, record import, development tokens.

The ``ecert`` group itself is defined here; ``ecert.cli.register_cli`` adds the other groups
to it by name. Every command that prints data takes --json.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click
from flask.cli import AppGroup

from ecert.cli.common import out as _out
from ecert.cli.common import resources, unit_of_work
from ecert.config import Settings
from ecert.services.audit import Actor

ecert_cli = AppGroup("ecert", help="ecert administration.")
CLI_ACTOR = Actor("cli", "cli")


def _settings() -> Settings:
    return resources().settings


@ecert_cli.command("init")
@click.option("--json", "as_json", is_flag=True)
def init_command(as_json: bool) -> None:
    """Migrate the database; in development also create the PKI and identity-provider key."""
    from ecert.dev.idp import ensure_dev_idp
    from ecert.keystore import register_dsc
    from ecert.migrate import migrate_settings
    from ecert.services import audit
    from signing.pki import create_dev_pki, find_document_signers, load_certificate

    settings = _settings()
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    created_key = False
    if not settings.audit_key and not settings.is_production:
        _, created_key = audit.ensure_dev_key_file(settings.instance_dir)
    key = audit.load_key(settings.audit_key, settings.instance_dir, create=False)
    # Migrations run as the owner role when one is configured; the app's role gets its grants.
    migrate_settings(settings, audit_key=key)
    result: dict[str, object] = {"database": "migrated"}
    if key is not None:
        result["audit_key_id"] = key.key_id
        audit.use_key(resources().engine, key)  # this process writes events below
    if created_key:
        result["audit_key_file"] = str(audit.key_file_path(settings.instance_dir))
    if settings.is_production:
        _out(result, as_json, "database migrated (production: keys are provisioned with `ecert keys import`)")
        return
    ensure_dev_idp(settings.dev_idp_dir)
    pki = create_dev_pki(settings.pki_dir, settings.issuer_id, settings.authority_name)
    root = load_certificate(pki.root_cert_path)
    with unit_of_work() as session:
        from ecert.models import SigningKey

        known = session.query(SigningKey).count()
        for dsc in find_document_signers(settings.pki_dir, root):
            if session.get(SigningKey, dsc.kid_hex) is None:
                register_dsc(session, dsc, status="active" if dsc.kid == pki.kid and not known else "retired")
    result.update({"pki_dir": str(settings.pki_dir), "active_kid": pki.kid.hex(), "idp": str(settings.dev_idp_dir)})
    _out(
        result,
        as_json,
        f"database migrated; development PKI in {settings.pki_dir} (kid {pki.kid.hex()}); "
        f"identity provider in {settings.dev_idp_dir}"
        + (f"; audit key created in {result['audit_key_file']}" if created_key else ""),
    )


@ecert_cli.command("seed-demo")
@click.option("--json", "as_json", is_flag=True)
def seed_demo_command(as_json: bool) -> None:
    """Load the demo judicial records (idempotent)."""
    from ecert.dev.demo import DEMO_CITIZENS, DEMO_RECORDS
    from ecert.services.records import import_lines

    with unit_of_work() as session:
        report = import_lines(session, [json.dumps(r, ensure_ascii=False) for r in DEMO_RECORDS], CLI_ACTOR)
    citizens = [
        {"personal_id": pid, "name": name, "birthdate": born, "gender": gender, "case": case}
        for pid, name, born, gender, case in DEMO_CITIZENS
    ]
    _out(
        {"imported": report.imported, "citizens": citizens},
        as_json,
        f"{report.imported} demo records loaded\n"
        + "\n".join(f"  {c['personal_id']}  {c['name']}: {c['case']}" for c in citizens),
    )


records_cli = AppGroup("records", help="The judicial-record store.")


@records_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def records_import_command(file: Path, as_json: bool) -> None:
    """Import persons and their records from JSON Lines; bad lines are reported and skipped."""
    from ecert.services.records import import_file

    with unit_of_work() as session, file.open("rb") as stream:
        report = import_file(session, stream, CLI_ACTOR)
    data = {"imported": report.imported, "errors": [{"line": n, "reason": r} for n, r in report.errors]}
    text = f"imported {report.imported} persons; {len(report.errors)} lines rejected"
    for number, reason in report.errors:
        text += f"\n  line {number}: {reason}"
    _out(data, as_json, text)
    if report.errors:
        sys.exit(1)


@ecert_cli.command("dev-token")
@click.option("--pid", required=True, help="12-digit personal ID number")
@click.option("--name", default=None)
@click.option("--birthdate", default=None, help="YYYY-MM-DD")
@click.option("--gender", type=click.Choice(["male", "female"]), default=None)
@click.option("--loa", type=int, default=2)
@click.option("--ttl", type=int, default=3600, help="seconds")
@click.option("--json", "as_json", is_flag=True)
def dev_token_command(
    pid: str, name: str | None, birthdate: str | None, gender: str | None, loa: int, ttl: int, as_json: bool
) -> None:
    """Print an identity token from the development identity provider (development only)."""
    from ecert.dev.demo import DEMO_CITIZENS
    from ecert.dev.idp import DevCitizen, dev_token_for

    settings = _settings()
    if settings.is_production:
        raise click.ClickException("dev-token exists only in development")
    known = {c[0]: c for c in DEMO_CITIZENS}
    if pid in known:
        _, demo_name, demo_born, demo_gender, _ = known[pid]
        name, birthdate, gender = name or demo_name, birthdate or demo_born, gender or demo_gender
    if not (name and birthdate and gender):
        raise click.ClickException("--name, --birthdate and --gender are needed for a personal ID outside the demo set")
    try:
        born = date.fromisoformat(birthdate)
    except ValueError:
        raise click.ClickException("--birthdate must be YYYY-MM-DD") from None
    token = dev_token_for(settings, DevCitizen(pid, name, born, gender), loa=loa, ttl_seconds=ttl)
    _out({"token": token, "expires_in": ttl}, as_json, token)
