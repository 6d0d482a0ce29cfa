"""`ecert keys ...`: list, rotate, retire, revoke and import document-signer keys."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from ecert.cli.common import resources, unit_of_work
from ecert.errors import DomainError
from ecert.services import keys as key_service
from ecert.services.audit import Actor

keys_cli = AppGroup("keys", help="Document-signer keys (DSC).")
ACTOR = Actor("cli", "cli")


def _row(row) -> dict:
    return {
        "kid": row.kid,
        "status": row.status,
        "not_before": row.not_before.isoformat(),
        "not_after": row.not_after.isoformat(),
        "retired_at": row.retired_at.isoformat() if row.retired_at else None,
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
        "key_path": row.key_path,
    }


def _print(rows: list, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        validity = f"valid {r['not_before'][:10]} .. {r['not_after'][:10]}"
        click.echo(f"{r['kid']}  {r['status']:8}  {validity}  {r['key_path']}")


@keys_cli.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_command(as_json: bool) -> None:
    """Every key in the trust list, with its status."""
    with unit_of_work() as session:
        _print([_row(r) for r in key_service.list_keys(session)], as_json)


@keys_cli.command("rotate")
@click.option("--validity-days", type=int, default=730, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def rotate_command(validity_days: int, as_json: bool) -> None:
    """Issue a new DSC under the root in the PKI directory and make it the active key.

    Needs the root CA key (development keeps it in instance/pki; in production the root is
    offline: issue the DSC there and use `keys import`).
    """
    from signing.pki import ROOT_KEY_FILE, load_certificate, load_private_key, rotate_document_signer

    settings = resources().settings
    keystore = resources().keystore
    root_key = load_private_key(settings.pki_dir / ROOT_KEY_FILE, keystore.passphrase)
    root_cert = load_certificate(keystore.root_cert_path)
    dsc = rotate_document_signer(
        settings.pki_dir, root_key, root_cert, validity_days=validity_days, passphrase=keystore.passphrase
    )
    with unit_of_work() as session:
        row = key_service.activate(session, dsc, ACTOR)
        _print([_row(row)], as_json)


@keys_cli.command("import")
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--cert", "cert_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def import_command(key_path: Path, cert_path: Path, as_json: bool) -> None:
    """Register a DSC issued elsewhere (offline root) and make it the active key."""
    from signing.pki import DscFiles, kid_for, load_certificate
    from signing.signer import FileSigner

    keystore = resources().keystore
    signer = FileSigner.from_files(key_path, cert_path, keystore.root_cert_path, keystore.passphrase)
    cert = load_certificate(cert_path)
    with unit_of_work() as session:
        dsc = DscFiles(kid_for(cert), key_path.resolve(), cert_path.resolve(), cert)
        row = key_service.activate(session, dsc, ACTOR)
        _print([_row(row)], as_json)
    del signer


def _change(kid: str, action, as_json: bool) -> None:
    with unit_of_work() as session:
        try:
            row = action(session, kid, ACTOR)
        except DomainError as exc:
            raise click.ClickException(exc.detail or exc.code) from None
        _print([_row(row)], as_json)


@keys_cli.command("retire")
@click.argument("kid")
@click.option("--json", "as_json", is_flag=True)
def retire_command(kid: str, as_json: bool) -> None:
    """Stop signing with KID; what it signed keeps verifying."""
    _change(kid, key_service.retire, as_json)


@keys_cli.command("revoke")
@click.argument("kid")
@click.option("--json", "as_json", is_flag=True)
def revoke_command(kid: str, as_json: bool) -> None:
    """Distrust KID (compromised): what it signed verifies as signer_revoked."""
    _change(kid, key_service.revoke, as_json)
