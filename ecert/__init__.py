"""ecert: judicial-record certificates, issued signed and verifiable by anyone.

``create_app`` wires configuration -> database -> identity provider -> signing keys -> the
resources container (``ecert.wiring.Resources``) -> HTTP (``api.register``) and the command line
(``ecert.cli``), in that order, and fails at start-up (never at the first request) when
something it needs is missing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from ecert.config import Settings, load_settings
from ecert.errors import ConfigurationError

log = logging.getLogger("ecert")


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    settings = load_settings().with_overrides(dict(overrides or {}))
    _configure_logging(settings)
    _check_instance_dir(settings)
    app = Flask("ecert", instance_path=str(settings.instance_dir), instance_relative_config=False)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_pdf_upload_bytes,
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Vietnamese stays readable
    # Imported here, not at the top: importing a pure module such as ecert.domain.rules runs this
    # package's __init__, and that must not load the database, the keys and the PDF checker.
    from ecert.wiring import build_resources, install

    resources = build_resources(settings)
    install(app, resources)
    _wire_audit_key(settings, resources.engine)

    import api
    from ecert.cli import register_cli

    api.register(app)
    register_cli(app)
    return app


def _wire_audit_key(settings: Settings, engine: Any) -> None:
    """The audit chain's HMAC key: ECERT_AUDIT_KEY, or in development the instance key file
    that `ecert init` creates. Without a key nothing audited can be committed (never an unkeyed
    event), so development before `init` starts but says what to run."""
    from ecert.keystore import warn_setup_missing
    from ecert.services import audit

    if settings.is_production and not settings.audit_key:
        raise ConfigurationError("production refuses to start; missing settings: ECERT_AUDIT_KEY")
    key = audit.load_key(settings.audit_key, settings.instance_dir, create=False)
    if key is None:
        warn_setup_missing(
            "no audit key (%s); run `flask --app wsgi ecert init`", audit.key_file_path(settings.instance_dir)
        )
        return
    if not settings.audit_key:
        log.info("development audit key from %s (key id %s)", audit.key_file_path(settings.instance_dir), key.key_id)
    audit.use_key(engine, key)


def _check_instance_dir(settings: Settings) -> None:
    """Fail at start-up, naming the directory, when the instance dir cannot be written.

    The SQLite database, the development PKI and the identity provider live there; finding out
    at the first request would be a 500 for a citizen instead of a clear error for the operator.
    """
    if settings.is_production and not settings.database_url.startswith("sqlite"):
        return
    path = settings.instance_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise ConfigurationError(
            f"instance directory {path} is not writable ({exc.strerror or type(exc).__name__}); "
            "set ECERT_INSTANCE_DIR to a writable directory"
        ) from None


# Logging is the process's: configured by the first app made in it, left alone by the others.
_logging_configured = False


def _configure_logging(settings: Settings) -> None:
    global _logging_configured
    if _logging_configured:
        return
    root = logging.getLogger()
    handler = logging.StreamHandler()
    if settings.log_json:
        from ecert.jsonlog import JsonFormatter

        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # Alembic announces every plugin at INFO; keep the operator's log to what matters.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    _logging_configured = True
