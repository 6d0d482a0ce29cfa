"""Shared fixtures: a migrated database (SQLite, or PostgreSQL via ECERT_TEST_DATABASE_URL),
a development PKI and identity provider, and an app whose every test runs inside a transaction
that is rolled back (SAVEPOINTs stand in for the view's commits)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from ecert import create_app
from ecert.db import make_engine
from ecert.dev.idp import ensure_dev_idp, issue_dev_token
from ecert.migrate import upgrade_head
from ecert.wiring import replace_resources, resources_of
from tests.support import IDP_AUDIENCE, IDP_ISSUER, PUBLIC_BASE_URL, TEST_DATABASE_URL


def pytest_report_header(config: pytest.Config) -> str:
    return f"ecert database: {'PostgreSQL ' + TEST_DATABASE_URL if TEST_DATABASE_URL else 'SQLite'}"


# The suite's fixed audit key (a development key file would differ per run and hide nothing).
TEST_AUDIT_KEY = "test-audit-key-0123456789abcdef-0123456789abcdef"


@dataclass(frozen=True)
class PostgresRoles:
    """The test database's two roles: migrations run as ``owner``, the app as ``app``."""

    owner: str
    app: str
    owner_url: str
    app_url: str


def postgres_roles(admin_url: str) -> PostgresRoles:
    """Create (if absent) an owner and an app role named after the test database.

    Roles are cluster-wide and another run (another database) may be using its own at this very
    moment: names carry the database name, creation tolerates a concurrent twin, nothing drops
    them.
    """
    url = make_url(admin_url)
    database = url.database or "ecert"
    owner, app = f"{database}_owner"[:63], f"{database}_app"[:63]
    engine = make_engine(admin_url, poolclass=NullPool)
    try:
        for role in (owner, app):
            with engine.begin() as conn:
                exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
                if exists is None:
                    quoted = conn.dialect.identifier_preparer.quote(role)
                    try:
                        # NOSUPERUSER etc. are the defaults; said anyway, since that is the point.
                        conn.execute(text(f"CREATE ROLE {quoted} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB "
                                          f"NOBYPASSRLS PASSWORD '{role}'"))
                    except ProgrammingError as exc:
                        if "already exists" not in str(exc):
                            raise
    finally:
        engine.dispose()
    return PostgresRoles(
        owner, app,
        url.set(username=owner, password=owner).render_as_string(hide_password=False),
        url.set(username=app, password=app).render_as_string(hide_password=False),
    )


def reset_postgres(url: str, owner: str | None = None) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        if owner:
            # The owner role owns the schema and, through the migrations, every table in it.
            conn.execute(text(f"CREATE SCHEMA public AUTHORIZATION {conn.dialect.identifier_preparer.quote(owner)}"))
        else:
            conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("instance")
    ensure_dev_idp(path / "idp")
    return path


@pytest.fixture(scope="session")
def pg_roles() -> PostgresRoles | None:
    return postgres_roles(TEST_DATABASE_URL) if TEST_DATABASE_URL else None


@pytest.fixture(scope="session")
def owner_database_url(instance_dir: Path, pg_roles: PostgresRoles | None) -> str:
    """Migrated to head as the owner role (on SQLite there is one file and no roles)."""
    if pg_roles is not None:
        reset_postgres(TEST_DATABASE_URL, pg_roles.owner)
        # Every run starts from the migrations, never from create_all.
        upgrade_head(pg_roles.owner_url, app_role=pg_roles.app)
        return pg_roles.owner_url
    url = f"sqlite:///{instance_dir / 'test.sqlite3'}"
    upgrade_head(url)
    return url


@pytest.fixture(scope="session")
def database_url(owner_database_url: str, pg_roles: PostgresRoles | None) -> str:
    """What the app connects as: on PostgreSQL the app role, which owns nothing."""
    return pg_roles.app_url if pg_roles is not None else owner_database_url


@pytest.fixture(scope="session")
def base_overrides(instance_dir: Path, database_url: str, owner_database_url: str) -> dict[str, Any]:
    return {
        "env": "development",
        "database_url": database_url,
        "database_owner_url": owner_database_url,
        "audit_key": TEST_AUDIT_KEY,
        "instance_dir": instance_dir,
        "pki_dir": instance_dir / "pki",
        "idp_jwks": str(instance_dir / "idp" / "jwks.json"),
        "idp_issuer": IDP_ISSUER,
        "idp_audience": IDP_AUDIENCE,
        "public_base_url": PUBLIC_BASE_URL,
        "secret_key": "test-secret-key-that-is-long-enough-0123456789",
        "rate_limits": "off",
        "auto_issue": True,
        "log_json": False,
        # Each verification event in its request's transaction (rolled back with the test);
        # the batched writer has its own tests (tests/unit/test_batched.py, tests/api/public/...).
        "verification_log_seconds": 0,
    }


@pytest.fixture(scope="session")
def provisioned(base_overrides: dict[str, Any]) -> dict[str, Any]:
    """Run `ecert init` once: the dev PKI on disk and its DSC registered in the database."""
    app = create_app(base_overrides)
    result = app.test_cli_runner().invoke(args=["ecert", "init", "--json"])
    assert result.exit_code == 0, result.output
    resources_of(app).engine.dispose()
    return base_overrides


@pytest.fixture
def make_app(provisioned: dict[str, Any]) -> Iterator[Callable[..., Any]]:
    """Build apps bound to one connection whose transaction is rolled back after the test."""
    made: list[tuple[Any, Any, Any]] = []

    def factory(**overrides: Any) -> Any:
        app = create_app({**provisioned, **overrides})
        app.config["TESTING"] = True
        engine = resources_of(app).engine
        connection = engine.connect()
        transaction = connection.begin()
        replace_resources(app, sessionmaker=sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ))
        made.append((engine, connection, transaction))
        return app

    yield factory
    for engine, connection, transaction in made:
        transaction.rollback()
        connection.close()
        engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Any]) -> Any:
    return make_app()


@pytest.fixture
def owner_app(make_app: Callable[..., Any], owner_database_url: str) -> Any:
    """An app connected as the database owner: what someone who can drop the audit triggers
    sees (tamper tests). The same as ``app`` on SQLite."""
    return make_app(database_url=owner_database_url)


@pytest.fixture
def owner_db(owner_app: Any) -> Iterator[Session]:
    session = resources_of(owner_app).sessionmaker()
    yield session
    session.close()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def db(app: Any) -> Iterator[Session]:
    session = resources_of(app).sessionmaker()
    yield session
    session.close()


@pytest.fixture
def token_for(instance_dir: Path) -> Callable[..., str]:
    def make(pid: str = "001090012345", name: str = "Nguyễn Văn An", birthdate: str = "1990-05-17",
             gender: str = "male", **kwargs: Any) -> str:
        return issue_dev_token(
            instance_dir / "idp", issuer=kwargs.pop("issuer", IDP_ISSUER), audience=kwargs.pop("audience", IDP_AUDIENCE),
            personal_id=pid, name=name, birthdate=date.fromisoformat(birthdate), gender=gender, **kwargs,
        )

    return make


@pytest.fixture
def auth(token_for: Callable[..., str]) -> Callable[..., dict[str, str]]:
    def headers(**kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(**kwargs)}"}

    return headers
