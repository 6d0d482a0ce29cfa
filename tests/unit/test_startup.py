"""Start-up refuses, with a clear message, what would otherwise fail at the first request."""
from __future__ import annotations

from pathlib import Path

import pytest

from ecert import create_app
from ecert.config import load_settings
from ecert.errors import ConfigurationError
from ecert.wiring import resources_of


def test_unwritable_instance_dir_is_a_clear_error(tmp_path: Path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the instance directory should be")
    with pytest.raises(ConfigurationError, match="not-a-directory.*not writable"):
        create_app({"instance_dir": blocker / "instance", "database_url": f"sqlite:///{tmp_path}/x.sqlite3"})


def test_production_refuses_to_start_without_secrets():
    with pytest.raises(ConfigurationError) as info:
        load_settings({"ECERT_ENV": "production"})
    message = str(info.value)
    for name in ("ECERT_DATABASE_URL", "ECERT_SECRET_KEY", "ECERT_IDP_JWKS", "ECERT_PUBLIC_BASE_URL"):
        assert name in message


def test_production_refuses_a_short_secret():
    env = {
        "ECERT_ENV": "production", "ECERT_DATABASE_URL": "postgresql+psycopg://x@127.0.0.1/x",
        "ECERT_SECRET_KEY": "short", "ECERT_PUBLIC_BASE_URL": "https://ecert.gov.vn",
        "ECERT_IDP_JWKS": "https://idp.example/jwks", "ECERT_IDP_ISSUER": "https://idp.example",
        "ECERT_IDP_AUDIENCE": "ecert", "ECERT_AUDIT_KEY": "a" * 32,
    }
    with pytest.raises(ConfigurationError, match="ECERT_SECRET_KEY"):
        load_settings(env)


def test_production_refuses_to_start_without_signing_keys(tmp_path: Path, database_url: str):
    with pytest.raises(ConfigurationError, match="root-ca.pem"):
        create_app({
            "env": "production", "database_url": database_url, "instance_dir": tmp_path,
            "pki_dir": tmp_path / "pki", "secret_key": "x" * 40, "public_base_url": "https://ecert.gov.vn",
            "idp_jwks": str(tmp_path / "jwks.json"), "idp_issuer": "https://idp", "idp_audience": "ecert",
        })


def test_a_missing_active_key_file_names_the_file(tmp_path: Path, provisioned, make_app):
    import shutil

    from ecert.models import SigningKey

    app = make_app()
    session = resources_of(app).sessionmaker()
    row = session.query(SigningKey).filter_by(status="active").one()
    moved = tmp_path / "elsewhere.key"
    shutil.copy(row.key_path, moved)
    row.key_path = str(tmp_path / "missing.key")
    session.commit()
    from ecert.keystore import load_keystore

    settings = resources_of(app).settings
    connection_bound_engine = session.get_bind()
    with pytest.raises(ConfigurationError, match="missing.key"):
        load_keystore(settings, connection_bound_engine)
    session.close()


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_bad_boolean_setting_is_named(value: str):
    with pytest.raises(ConfigurationError, match="ECERT_AUTO_ISSUE"):
        load_settings({"ECERT_AUTO_ISSUE": value})


def test_bad_rate_limit_setting_is_named(make_app):
    with pytest.raises(ConfigurationError, match="ECERT_RATE_LIMITS"):
        make_app(rate_limits="verification")
