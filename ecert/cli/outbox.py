"""`flask --app wsgi ecert outbox ...`: the relay that delivers notifications, and what operators
need to see and requeue the ones the gateway never accepted (docs/notifications.md)."""

from __future__ import annotations

import getpass
import json
import logging
import signal
import sys
import threading
from datetime import timedelta
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from ecert.cli.common import out, resources, unit_of_work
from ecert.db import utcnow
from ecert.errors import NotFound
from ecert.models import OutboxEvent
from ecert.relay import BatchReport, Relay, RelayOptions
from ecert.services import outbox as outbox_service
from ecert.services.audit import Actor, record

log = logging.getLogger(__name__)
DATABASE_RETRY_SECONDS = 5.0

outbox_cli = AppGroup("outbox", help="Notifications to the identity app's gateway (the outbox relay).")


def _actor() -> Actor:
    try:
        who = getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry (containers): still audit the change
        who = "unknown"
    return Actor("cli", f"cli:{who}"[:64])


def _relay(batch: int, concurrency: int, lease: float, timeout: float, stop: threading.Event) -> Relay:
    settings = resources().settings
    if not settings.notify_webhook_url or not settings.notify_webhook_secret:
        raise click.ClickException("no gateway: set ECERT_NOTIFY_WEBHOOK_URL and ECERT_NOTIFY_WEBHOOK_SECRET")
    try:
        options = RelayOptions(
            url=settings.notify_webhook_url,
            secret=settings.notify_webhook_secret.encode(),
            batch=batch,
            concurrency=concurrency,
            lease=timedelta(seconds=lease),
            timeout=timeout,
        )
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--lease") from None
    return Relay(resources().sessionmaker, options, should_stop=stop.is_set)


def _stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM (make run stopping, a deploy) and Ctrl-C finish the event in flight, release the
    rest of the batch for the next relay, and exit."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())


def _report_batch(report: BatchReport, as_json: bool) -> None:
    if as_json and (report.attempted or report.released):
        click.echo(json.dumps(report.as_dict()), nl=True)
        sys.stdout.flush()
    elif report.attempted and not as_json:
        click.echo(
            f"delivered {len(report.delivered)}, retry later {len(report.retried)}, "
            f"parked {len(report.parked)}, taken over {len(report.lost)}"
        )


def _drain(relay: Relay, as_json: bool) -> BatchReport:
    """Deliver everything due now; a progress bar on a terminal when there is a backlog."""
    with unit_of_work() as session:
        due = outbox_service.backlog(session)
    if as_json or not sys.stderr.isatty() or due <= relay.options.batch:
        return relay.drain(lambda report: _report_batch(report, as_json))
    with click.progressbar(length=due, label="delivering", file=sys.stderr) as bar:
        return relay.drain(lambda report: bar.update(report.attempted))


@outbox_cli.command("relay")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--batch", type=click.IntRange(1, 1000), default=50, show_default=True)
# At most 8: each request in flight marks through its own connection of the pool (10 at most).
@click.option("--concurrency", type=click.IntRange(1, 8), default=4, show_default=True, help="Requests in flight.")
@click.option(
    "--lease", type=click.FloatRange(5, 3600), default=120.0, show_default=True, help="Seconds a claim is ours."
)
@click.option("--timeout", type=click.FloatRange(0.5, 60), default=10.0, show_default=True, help="Seconds per request.")
@click.option("--interval", type=click.FloatRange(0.05, 60), default=1.0, show_default=True, help="Idle poll, seconds.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per batch (the event ids), nothing else.")
def relay_command(
    once: bool, batch: int, concurrency: int, lease: float, timeout: float, interval: float, as_json: bool
) -> None:
    """Deliver notifications to ECERT_NOTIFY_WEBHOOK_URL, signed; retry with growing delays for 24 h."""
    stop = threading.Event()
    _stop_on_signals(stop)
    relay = _relay(batch, concurrency, lease, timeout, stop)
    if not as_json:
        click.echo(f"relay {relay.owner} -> {relay.options.url}", err=True)
    try:
        while not stop.is_set():
            try:
                total = _drain(relay, as_json)
            except SQLAlchemyError as error:
                if once:
                    raise click.ClickException(f"database unavailable: {type(error).__name__}") from None
                # The database is down or failing over: what is claimed stays leased; try again.
                log.warning("relay: database unavailable (%s); retrying", type(error).__name__)
                stop.wait(DATABASE_RETRY_SECONDS)
                continue
            if once:
                if not as_json:
                    click.echo(f"done: delivered {len(total.delivered)}, retry later {len(total.retried)}, "
                               f"parked {len(total.parked)}")  # fmt: skip
                return
            stop.wait(interval)
    finally:
        relay.close()


def _row(event: OutboxEvent) -> dict[str, Any]:
    return {
        **outbox_service.notification_body(event),
        "state": event.state,
        "attempts": event.attempts,
        "last_error": event.last_error,
        "next_attempt_at": outbox_service.rfc3339(event.next_attempt_at) if event.state == "pending" else None,
        "parked_at": outbox_service.rfc3339(event.parked_at) if event.parked_at else None,
    }


@outbox_cli.command("status")
@click.option("--json", "as_json", is_flag=True)
def status_command(as_json: bool) -> None:
    """How many events are pending, due now, delivered and parked."""
    with unit_of_work() as session:
        counts = outbox_service.counts(session)
    text = ", ".join(f"{name} {number}" for name, number in counts.items())
    out(counts, as_json, text)


@outbox_cli.command("list")
@click.option("--parked", is_flag=True, help="The parked events (else the pending ones).")
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def list_command(parked: bool, limit: int, as_json: bool) -> None:
    """Events not delivered: parked (the gateway never accepted them in 24 h) or still pending."""
    state = outbox_service.DeliveryState.PARKED if parked else outbox_service.DeliveryState.PENDING
    with unit_of_work() as session:
        rows = [_row(event) for event in outbox_service.undelivered(session, state, limit=limit)]
    lines = [
        f"{row['id']}  {row['type']:22} {row['at']}  attempts {row['attempts']}  {row['last_error'] or ''}"
        for row in rows
    ]
    out(rows, as_json, "\n".join(lines) or f"no {state} events")


@outbox_cli.command("retry")
@click.argument("event_ids", nargs=-1)
@click.option("--all-parked", is_flag=True, help="Requeue every parked event.")
@click.option("--json", "as_json", is_flag=True)
def retry_command(event_ids: tuple[str, ...], all_parked: bool, as_json: bool) -> None:
    """Send parked events again, with a fresh 24 h of retries (audited)."""
    if not event_ids and not all_parked:
        raise click.UsageError("name the event ids, or --all-parked")
    now = utcnow()
    with unit_of_work() as session:
        ids = list(event_ids)
        if all_parked:
            ids += [event.id for event in outbox_service.undelivered(session, outbox_service.DeliveryState.PARKED)]
        requeued = []
        for event_id in ids:
            try:
                changed = outbox_service.requeue(session, event_id, now)
            except NotFound:
                raise click.ClickException(f"no such event: {event_id}") from None
            if changed:
                record(session, _actor(), "outbox.requeued", target_type="outbox_event", target_id=event_id)
            requeued.append({"id": event_id, "requeued": changed})
    lines = [f"{row['id']}  {'requeued' if row['requeued'] else 'not parked: unchanged'}" for row in requeued]
    out(requeued, as_json, "\n".join(lines))
