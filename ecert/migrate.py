"""Run Alembic programmatically, so `ecert init`, deploys and the test suite share one path.

On PostgreSQL the migrations run as the owner role (ECERT_DATABASE_OWNER_URL) and the app runs
as a role that owns nothing: it cannot drop or disable the audit triggers and may not UPDATE or
DELETE audit events. ``grant_app_role`` gives that role what the app does on every other table;
``upgrade_head`` runs it after every upgrade (idempotent), so new tables are covered at once and
default privileges cover tables a later migration creates.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from sqlalchemy import make_url, pool, text

if TYPE_CHECKING:
    from ecert.config import Settings
    from ecert.services.audit import AuditKey

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
AUDIT_KEY_ATTRIBUTE = "ecert.audit_key"

# Rows the app may read but never change: history, and Alembic's own bookkeeping.
_APPEND_ONLY = ("audit_events",)
_READ_ONLY = ("alembic_version",)


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on a '%' in a password.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_head(database_url: str, *, app_role: str | None = None, audit_key: AuditKey | None = None) -> None:
    """Migrate to head as whoever ``database_url`` logs in as (the owner); then, on PostgreSQL
    with an ``app_role``, grant that role the app's privileges. ``audit_key`` lets migration 0004
    re-key audit events written before the chain was keyed."""
    config = alembic_config(database_url)
    if audit_key is not None:
        config.attributes[AUDIT_KEY_ATTRIBUTE] = audit_key
    command.upgrade(config, "head")
    if app_role and database_url.startswith("postgresql"):
        grant_app_role(database_url, app_role)


def app_role_for(settings: Settings) -> str | None:
    """The app's role when migrations run as another one (ECERT_DATABASE_OWNER_URL set)."""
    if not settings.database_owner_url or not settings.database_url.startswith("postgresql"):
        return None
    app_user = make_url(settings.database_url).username
    owner_user = make_url(settings.database_owner_url).username
    return app_user if app_user and app_user != owner_user else None


def migrate_settings(settings: Settings, audit_key: AuditKey | None = None) -> None:
    """What `ecert init` runs: migrate as the owner (if configured), then grant the app role."""
    upgrade_head(
        settings.database_owner_url or settings.database_url, app_role=app_role_for(settings), audit_key=audit_key
    )


def grant_statements(app_role: str, quote: Callable[[str], str]) -> list[str]:
    role = quote(app_role)
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        # Tables a later migration creates (as this same owner) get the same grants.
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
    ]
    for table in _APPEND_ONLY:
        statements.append(f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {quote(table)} FROM {role}")
    for table in _READ_ONLY:
        statements.append(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {quote(table)} FROM {role}")
    return statements


def grant_app_role(owner_url: str, app_role: str) -> None:
    """Idempotent: the app role's privileges, run as the owner of the tables."""
    from ecert.db import make_engine

    engine = make_engine(owner_url, poolclass=pool.NullPool)
    try:
        with engine.begin() as connection:
            quote = connection.dialect.identifier_preparer.quote
            for statement in grant_statements(app_role, quote):
                connection.execute(text(statement))
    finally:
        engine.dispose()
