"""`flask --app wsgi ecert staff ...`: create, list, disable, reset TOTP, clear a throttle.

Staff accounts are made and changed here only (no HTTP endpoint manages staff): whoever runs
these commands has shell access to a server, and every change is written to the audit log
with the operating-system user who ran it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from ecert.cli.common import cli_actor as _actor
from ecert.cli.common import fail as _fail
from ecert.cli.common import out as _out
from ecert.cli.common import unit_of_work
from ecert.db import utcnow
from ecert.errors import DomainError
from ecert.services import staff as staff_service

staff_cli = AppGroup("staff", help="Agency staff accounts (password + TOTP).")


def _write_qr(uri: str, path: Path) -> None:
    import qrcode

    image = qrcode.make(uri, error_correction=qrcode.constants.ERROR_CORRECT_M)
    image.save(path)


def _enrolment_data(enrolment: staff_service.Enrolment) -> dict[str, Any]:
    """What the person must be given, read inside the unit of work (the row expires at its commit)."""
    data: dict[str, Any] = {
        "username": enrolment.user.username,
        "role": enrolment.user.role,
        "totp_secret": enrolment.totp_secret,
        "provisioning_uri": enrolment.provisioning_uri,
    }
    if enrolment.password is not None:
        data["password"] = enrolment.password
    return data


def _show_enrolment(data: dict[str, Any], qr_png: Path | None, as_json: bool) -> None:
    if qr_png is not None:
        _write_qr(data["provisioning_uri"], qr_png)
        data["qr_png"] = str(qr_png)
    _out(data, as_json, _enrolment_text(data))


def _enrolment_text(data: dict[str, Any]) -> str:
    lines = [f"staff {data['username']} ({data['role']})"]
    if data.get("password"):
        lines.append(f"password (shown once): {data['password']}")
    lines.append(f"TOTP secret: {data['totp_secret']}")
    lines.append(f"provisioning URI: {data['provisioning_uri']}")
    if data.get("qr_png"):
        lines.append(f"QR code written to {data['qr_png']}")
    lines.append("Give these to the person over a safe channel; they are not shown again.")
    return "\n".join(lines)


@staff_cli.command("create")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice(list(staff_service.ROLES)))
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (else one is generated).")
@click.option(
    "--qr-png",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Also write the provisioning URI as a QR code (PNG) for the authenticator app.",
)
@click.option("--json", "as_json", is_flag=True)
def create_command(username: str, role: str, password_stdin: bool, qr_png: Path | None, as_json: bool) -> None:
    """Create an account; prints the TOTP secret and otpauth:// URI (and the password if generated)."""
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    with unit_of_work() as session:
        try:
            enrolment = staff_service.create_staff(session, username, role, password=password, actor=_actor())
        except DomainError as error:
            raise _fail(error) from None
        data = _enrolment_data(enrolment)
    _show_enrolment(data, qr_png, as_json)


@staff_cli.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_command(as_json: bool) -> None:
    """Every account with its role and state (never a secret)."""
    now = utcnow()
    with unit_of_work() as session:
        rows = [staff_service.staff_summary(user, now) for user in staff_service.list_staff(session)]
    text = (
        "\n".join(
            f"{r['username']:<24} {r['role']:<11} "
            + (
                "disabled"
                if r["disabled"]
                else f"locked until {r['locked_until'].isoformat()}"
                if r["locked_until"]
                else "active"
            )
            for r in rows
        )
        or "no staff accounts"
    )
    _out(rows, as_json, text)


@staff_cli.command("disable")
@click.argument("username")
@click.option("--json", "as_json", is_flag=True)
def disable_command(username: str, as_json: bool) -> None:
    """Disable an account; its sessions end at once."""
    with unit_of_work() as session:
        try:
            user = staff_service.disable_staff(session, username, actor=_actor())
        except DomainError as error:
            raise _fail(error) from None
        data = {"username": user.username, "disabled": True}
    _out(data, as_json, f"staff {data['username']} disabled; their sessions are ended")


@staff_cli.command("reset-totp")
@click.argument("username")
@click.option("--qr-png", type=click.Path(dir_okay=False, writable=True, path_type=Path), default=None)
@click.option("--json", "as_json", is_flag=True)
def reset_totp_command(username: str, qr_png: Path | None, as_json: bool) -> None:
    """A new TOTP secret (lost or replaced phone); sessions end and any lockout clears."""
    with unit_of_work() as session:
        try:
            enrolment = staff_service.reset_totp(session, username, actor=_actor())
        except DomainError as error:
            raise _fail(error) from None
        data = _enrolment_data(enrolment)
    _show_enrolment(data, qr_png, as_json)


@staff_cli.command("clear-throttle")
@click.argument("username")
@click.option("--json", "as_json", is_flag=True)
def clear_throttle_command(username: str, as_json: bool) -> None:
    """Forget the wrong passwords counted for USERNAME from every address (a support call).

    Not needed for housekeeping: rows with no failure for a day are pruned at each failed sign-in.
    """
    with unit_of_work() as session:
        cleared = staff_service.clear_throttles(session, username, actor=_actor())
    data = {"username": staff_service.normalise_username(username), "addresses_cleared": cleared}
    _out(data, as_json, f"sign-in throttle cleared for {data['username']} ({cleared} address(es))")
