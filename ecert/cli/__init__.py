"""`flask --app wsgi ecert ...`: every command group, registered by name.

- ``core``   init, seed-demo, dev-token, records import (the ``ecert`` group itself)
- ``keys``   the document-signer keys: list, rotate, import, retire, revoke
- ``staff``  staff accounts: create, list, disable, reset-totp, clear-throttle
- ``audit``  the keyed audit chain: verify, checkpoint
- ``verifiers``      verifier organisations: create, list, disable (``verifiers.py``)
- ``verifications``  the verification log's retention: prune (``verifiers.py``)
- ``outbox`` notifications: the relay, status, list (--parked), retry
"""

from __future__ import annotations

from flask import Flask

from ecert.cli import audit, core, keys, outbox, staff, verifiers


def register_cli(app: Flask) -> None:
    """Add the ``ecert`` group and its sub-groups to the app's ``flask`` command."""
    # A renamed or missing group fails here with an ImportError, never skipped in silence.
    for group in (
        core.records_cli,
        keys.keys_cli,
        staff.staff_cli,
        audit.audit_cli,
        verifiers.verifiers_cli,
        verifiers.verifications_cli,
        outbox.outbox_cli,
    ):
        core.ecert_cli.add_command(group)
    app.cli.add_command(core.ecert_cli)
