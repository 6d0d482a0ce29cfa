"""ecert: judicial-record certificates, issued signed and verifiable by anyone.

``create_app`` wires configuration -> database -> signing -> HTTP, in that order, and fails at
start-up (never at the first request) when something it needs is missing.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Mapping

from flask import Flask

from ecert.config import Settings, load_settings
from ecert.errors import ConfigurationError
from ecert.db import make_engine, make_sessionmaker
from ecert.identity import IdentityVerifier

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
    app.extensions["ecert.settings"] = settings

    engine = make_engine(settings.database_url)
    app.extensions["ecert.engine"] = engine
    app.extensions["ecert.sessionmaker"] = make_sessionmaker(engine)

    app.extensions["ecert.identity"] = IdentityVerifier(
        settings.idp_jwks,
        settings.idp_issuer,
        settings.idp_audience,
        leeway=settings.idp_leeway_seconds,
        min_loa=settings.idp_min_loa,
    )

    from ecert.keystore import load_keystore

    app.extensions["ecert.keystore"] = load_keystore(settings, engine)

    import api

    api.register(app)

    from ecert.cli import register_cli

    register_cli(app)
    return app


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


def _configure_logging(settings: Settings) -> None:
    root = logging.getLogger()
    if getattr(root, "_ecert_configured", False):
        return
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
    root._ecert_configured = True  # type: ignore[attr-defined]
