"""The app's shared resources: built once by ``create_app``, read through one typed accessor.

Everything a view, a CLI command or a test needs from the app (settings, the database, the
identity verifier, the keys, the verification caches) is a field of :class:`Resources`, stored
once as ``app.extensions["ecert"]``. One typed object instead of a string key per resource: a
misspelt or renamed resource is an attribute error at the first use (and a type error for
mypy), never a ``KeyError`` at run time in a path the tests did not take.

Nothing here knows HTTP: the HTTP edge keeps its own objects (the OpenAPI registry, the rate
limiter) in ``api.deps.Edge``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ecert.batched import BatchedWriter
from ecert.config import Settings
from ecert.db import ReadingSessions, make_engine, make_sessionmaker
from ecert.identity import IdentityVerifier
from ecert.keystore import Keystore, load_keystore
from ecert.pdfcheck import PdfChecker
from ecert.services import audit
from ecert.services.verification import CheckRecord, TrustListCache, record_checks

EXTENSION_KEY = "ecert"


@dataclass(frozen=True)
class Resources:
    """What one app instance shares between its requests and commands (per process)."""

    settings: Settings
    engine: Engine
    # Sessions for requests and commands (``ecert.db.unit_of_work``), with the audit chain's
    # listeners attached to it alone. Tests swap it for one bound to a rolled-back connection
    # (``replace_resources(app, sessionmaker=...)``, which attaches the listeners to it).
    sessionmaker: sessionmaker[Session]
    # Verifies citizens' identity tokens against the identity provider's keys.
    identity: IdentityVerifier
    # The signing keys: the root certificate and the active document signer.
    keystore: Keystore
    # The parsed trust list, rebuilt only when the signing_keys table changes.
    trust_lists: TrustListCache
    # The guarded PDF check (host-wide slots, a time limit, a separate process).
    pdf_checker: PdfChecker
    # Verification events written in batches by a thread (None: in the request's transaction).
    verification_log: BatchedWriter[CheckRecord] | None = None
    # The checks' reads-only sessions, one per thread, kept between checks (with the batches
    # above, a check writes nothing in its request).
    reading_sessions: ReadingSessions | None = None


def build_resources(settings: Settings) -> Resources:
    """Open the database and load the identity provider's and the signing keys, in that order.

    Fails here (at start-up, naming what is missing) rather than at the first request.
    """
    engine = make_engine(settings.database_url)
    identity = IdentityVerifier(
        settings.idp_jwks,
        settings.idp_issuer,
        settings.idp_audience,
        leeway=settings.idp_leeway_seconds,
        min_loa=settings.idp_min_loa,
    )
    keystore = load_keystore(settings, engine)
    sessions = make_sessionmaker(engine)
    audit.attach(sessions)
    return Resources(
        settings=settings,
        engine=engine,
        sessionmaker=sessions,
        identity=identity,
        keystore=keystore,
        trust_lists=TrustListCache(keystore),
        # Slot files in the instance dir: every worker of this host (which shares it) counts together.
        pdf_checker=PdfChecker(
            settings.instance_dir / "pdf-check-slots", settings.pdf_check_slots, settings.pdf_check_seconds
        ),
        verification_log=_verification_log(sessions, settings),
        reading_sessions=ReadingSessions(sessions),
    )


def _verification_log(sessions: sessionmaker[Session], settings: Settings) -> BatchedWriter[CheckRecord] | None:
    if settings.verification_log_seconds <= 0:
        return None
    return BatchedWriter(sessions, record_checks, interval=settings.verification_log_seconds, name="verification-log")


def install(app: Flask, resources: Resources) -> None:
    app.extensions[EXTENSION_KEY] = resources


def resources_of(app: Flask) -> Resources:
    """The app's resources (inside a request or command: ``api.deps.resources()``)."""
    resources = app.extensions[EXTENSION_KEY]
    assert isinstance(resources, Resources), "create_app installs ecert.wiring.Resources"
    return resources


def replace_resources(app: Flask, **changes: Any) -> Resources:
    """Swap some of the app's resources (tests: a sessionmaker bound to a rolled-back
    connection, a PDF checker with other limits); the container itself stays immutable.

    A new sessionmaker gets the audit chain's listeners, as the one ``build_resources`` made.
    """
    current = resources_of(app)
    if "sessionmaker" in changes:
        audit.attach(changes["sessionmaker"])
        if current.verification_log is not None and "verification_log" not in changes:
            # The batches go where the requests' sessions go.
            current.verification_log.close()
            changes["verification_log"] = _verification_log(changes["sessionmaker"], current.settings)
        if "reading_sessions" not in changes:
            changes["reading_sessions"] = ReadingSessions(changes["sessionmaker"])
    resources = dataclasses.replace(current, **changes)
    install(app, resources)
    return resources
