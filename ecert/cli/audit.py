"""`flask --app wsgi ecert audit ...`: verify the keyed audit chain, write a signed checkpoint."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from click.decorators import FC
from flask.cli import AppGroup

from ecert.cli.common import out as _out
from ecert.cli.common import resources, unit_of_work
from ecert.services import audit as audit_service

audit_cli = AppGroup("audit", help="The hash-chained audit log.")


def _audit_key() -> audit_service.AuditKey:
    settings = resources().settings
    key = audit_service.load_key(settings.audit_key, settings.instance_dir, create=False)
    if key is None:
        raise click.ClickException("no audit key: set ECERT_AUDIT_KEY (development: run `ecert init`)")
    return key


def _file_option(flag: str, name: str, help_text: str) -> Callable[[FC], FC]:
    """An optional file path (a checkpoint read or written)."""
    return click.option(flag, name, type=click.Path(dir_okay=False, path_type=Path), default=None, help=help_text)


def _progress_wanted(as_json: bool) -> bool:
    return not as_json and sys.stdout.isatty()


@audit_cli.command("verify")
@_file_option(
    "--checkpoint",
    "checkpoint_file",
    "A checkpoint written by `audit checkpoint`: also find deleted or replaced events up to it.",
)
@click.option("--json", "as_json", is_flag=True)
def verify_command(checkpoint_file: Path | None, as_json: bool) -> None:
    """Walk the keyed chain from the first event; exit 1 naming the first broken one."""
    key = _audit_key()
    checkpoint = None
    if checkpoint_file is not None:
        try:
            checkpoint = audit_service.load_checkpoint(checkpoint_file, key)
        except audit_service.CheckpointInvalid as error:
            _out(
                {"ok": False, "checkpoint_error": str(error)}, as_json, f"checkpoint {checkpoint_file} refused: {error}"
            )
            sys.exit(1)
    with unit_of_work() as session:
        if _progress_wanted(as_json):
            with click.progressbar(
                length=audit_service.chain_length(session), label="verifying", file=sys.stderr
            ) as bar:
                report = audit_service.verify_chain(session, key=key, checkpoint=checkpoint, progress=bar.update)
        else:
            report = audit_service.verify_chain(session, key=key, checkpoint=checkpoint)
    data: dict[str, Any] = {"ok": report.ok, "events_checked": report.events_checked, "key_id": key.key_id}
    against = ""
    if checkpoint is not None:
        data["checkpoint"] = {"seq": checkpoint.seq, "hash": checkpoint.hash, "made_at": checkpoint.made_at}
        against = f" (checkpoint at seq {checkpoint.seq} of {checkpoint.made_at} holds)"
    if report.ok:
        _out(data, as_json, f"audit chain intact: {report.events_checked} events{against}")
        return
    data["broken"] = {"seq": report.broken_seq, "id": report.broken_id, "reason": report.reason}
    _out(
        data,
        as_json,
        f"audit chain BROKEN at event seq {report.broken_seq} (id {report.broken_id}): {report.reason}; "
        f"{report.events_checked} events before it are intact",
    )
    sys.exit(1)


@audit_cli.command("checkpoint")
@_file_option(
    "--out", "out_file", "Where to write it (default: <instance>/audit-checkpoints/<seq>.json). Copy it off this host."
)
@click.option("--json", "as_json", is_flag=True)
def checkpoint_command(out_file: Path | None, as_json: bool) -> None:
    """Verify the chain, then write its head (seq, hash, time, count) signed with the audit key."""
    key = _audit_key()
    with unit_of_work() as session:
        try:
            checkpoint = audit_service.make_checkpoint(session, key=key)
        except audit_service.ChainBroken as broken:
            report = broken.report
            _out(
                {"ok": False, "broken": {"seq": report.broken_seq, "id": report.broken_id, "reason": report.reason}},
                as_json,
                f"no checkpoint written: audit chain BROKEN at event seq {report.broken_seq} "
                f"(id {report.broken_id}): {report.reason}",
            )
            sys.exit(1)
    document = checkpoint.as_dict(key)
    if out_file is None:
        out_file = resources().settings.instance_dir / "audit-checkpoints" / f"{checkpoint.seq}.json"
    out_file.parent.mkdir(parents=True, exist_ok=True)
    partial = out_file.with_name(out_file.name + ".partial")
    partial.write_text(json.dumps(document, indent=2) + "\n")
    partial.replace(out_file)  # never a half-written checkpoint under the real name
    _out(
        {**document, "file": str(out_file)},
        as_json,
        f"checkpoint: seq {checkpoint.seq}, {checkpoint.count} events, hash {checkpoint.hash} -> {out_file}",
    )
