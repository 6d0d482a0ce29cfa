"""What every command group shares: the app's resources, a session, output as text or JSON."""

from __future__ import annotations

import getpass
import json
from contextlib import AbstractContextManager

import click
from flask import current_app
from sqlalchemy.orm import Session

from ecert import db
from ecert.errors import DomainError, InvalidInput
from ecert.services.audit import Actor
from ecert.wiring import Resources, resources_of


def resources() -> Resources:
    return resources_of(current_app)


def unit_of_work() -> AbstractContextManager[Session]:
    """The command's one transaction: ``with unit_of_work() as session:`` commits when the block
    ends normally and rolls back when it raises (``ecert.db.unit_of_work``)."""
    return db.unit_of_work(resources())


def out(data: object, as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str) if as_json else text)


def fail(error: DomainError) -> click.ClickException:
    """A domain error as the command's error message: the field codes, or the error's code."""
    if isinstance(error, InvalidInput):
        reasons = "; ".join(f"{field}: {', '.join(codes)}" for field, codes in error.errors.items())
        return click.ClickException(reasons)
    return click.ClickException(error.code)


def cli_actor() -> Actor:
    """Who ran the command, for the audit log: the operating-system user."""
    try:
        who = getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry (containers): still audit the change
        who = "unknown"
    return Actor("cli", f"cli:{who}"[:64])
