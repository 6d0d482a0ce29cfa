"""Shared fixtures: a migrated database (SQLite, or PostgreSQL via ECERT_TEST_DATABASE_URL),
a development PKI and identity provider, and an app whose every test runs inside a transaction
that is rolled back (SAVEPOINTs stand in for the view's commits)."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from ecert import create_app
from ecert.db import make_engine
from ecert.devidp import ensure_dev_idp, issue_dev_token
from ecert.migrate import upgrade_head

from tests.support import IDP_AUDIENCE, IDP_ISSUER, PUBLIC_BASE_URL, TEST_DATABASE_URL


def pytest_report_header(config: pytest.Config) -> str:
    return f"ecert database: {'PostgreSQL ' + TEST_DATABASE_URL if TEST_DATABASE_URL else 'SQLite'}"


def reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("instance")
    ensure_dev_idp(path / "idp")
    return path


@pytest.fixture(scope="session")
def database_url(instance_dir: Path) -> str:
    if TEST_DATABASE_URL:
        reset_postgres(TEST_DATABASE_URL)
        url = TEST_DATABASE_URL
    else:
        url = f"sqlite:///{instance_dir / 'test.sqlite3'}"
    # Every run starts from the migrations, never from create_all.
    upgrade_head(url)
    return url


@pytest.fixture(scope="session")
def base_overrides(instance_dir: Path, database_url: str) -> dict[str, Any]:
    return {
        "env": "development",
        "database_url": database_url,
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
    }


@pytest.fixture(scope="session")
def provisioned(base_overrides: dict[str, Any]) -> dict[str, Any]:
    """Run `ecert init` once: the dev PKI on disk and its DSC registered in the database."""
    app = create_app(base_overrides)
    result = app.test_cli_runner().invoke(args=["ecert", "init", "--json"])
    assert result.exit_code == 0, result.output
    app.extensions["ecert.engine"].dispose()
    return base_overrides


@pytest.fixture
def make_app(provisioned: dict[str, Any]) -> Iterator[Callable[..., Any]]:
    """Build apps bound to one connection whose transaction is rolled back after the test."""
    made: list[tuple[Any, Any, Any]] = []

    def factory(**overrides: Any) -> Any:
        app = create_app({**provisioned, **overrides})
        app.config["TESTING"] = True
        engine = app.extensions["ecert.engine"]
        connection = engine.connect()
        transaction = connection.begin()
        app.extensions["ecert.sessionmaker"] = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
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
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def db(app: Any) -> Iterator[Session]:
    session = app.extensions["ecert.sessionmaker"]()
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
