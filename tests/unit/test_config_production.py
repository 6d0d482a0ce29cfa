"""Production refuses to start with a setting that would be unsafe at scale (DESIGN §3), and names
every offending setting at once; development keeps starting with local defaults."""
from __future__ import annotations

from typing import Any

import pytest

from ecert.config import load_settings
from ecert.errors import ConfigurationError

GOOD: dict[str, str] = {
    "ECERT_ENV": "production",
    "ECERT_DATABASE_URL": "postgresql+psycopg://ecert@db.internal:5432/ecert",
    "ECERT_SECRET_KEY": "s" * 40,
    "ECERT_PUBLIC_BASE_URL": "https://lltp.gov.vn",
    "ECERT_IDP_JWKS": "https://vneid.gov.vn/.well-known/jwks.json",
    "ECERT_IDP_ISSUER": "https://vneid.gov.vn",
    "ECERT_IDP_AUDIENCE": "ecert",
    "ECERT_AUDIT_KEY": "a" * 32,
    "ECERT_REDIS_URL": "redis://cache.internal:6379/0",
    "ECERT_METRICS_TOKEN": "m" * 32,
}


def _refusal(**changes: str | None) -> str:
    env: dict[str, Any] = {**GOOD, **changes}
    env = {k: v for k, v in env.items() if v is not None}
    with pytest.raises(ConfigurationError) as info:
        load_settings(environ=env)
    return str(info.value)


def test_good_production_configuration_starts():
    settings = load_settings(environ=GOOD)
    assert settings.is_production
    assert settings.workers == 2 and settings.redis_url and settings.metrics_token
    assert settings.public_base_url == "https://lltp.gov.vn"


@pytest.mark.parametrize("url", [
    "postgresql://ecert@db.internal/ecert",
    "postgresql+psycopg://ecert:pw@db.internal:5432/ecert",
])
def test_postgresql_urls_are_accepted(url: str):
    assert load_settings(environ={**GOOD, "ECERT_DATABASE_URL": url}).database_url == url


@pytest.mark.parametrize("url", [
    "sqlite:////var/lib/ecert/ecert.sqlite3",
    "sqlite+pysqlite:///ecert.sqlite3",
    "SQLITE:///x.db",
    "mysql+pymysql://ecert@db/ecert",
])
def test_production_refuses_a_database_other_than_postgresql(url: str):
    message = _refusal(ECERT_DATABASE_URL=url)
    assert "ECERT_DATABASE_URL" in message and "PostgreSQL" in message


@pytest.mark.parametrize("jwks", ["http://vneid.gov.vn/jwks.json", "HTTP://vneid.gov.vn/jwks.json"])
def test_production_refuses_a_plain_http_jwks_url(jwks: str):
    message = _refusal(ECERT_IDP_JWKS=jwks)
    assert "ECERT_IDP_JWKS" in message and "https" in message


def test_production_accepts_a_jwks_file():
    assert load_settings(environ={**GOOD, "ECERT_IDP_JWKS": "/etc/ecert/idp-jwks.json"}).idp_jwks == (
        "/etc/ecert/idp-jwks.json"
    )


def test_production_refuses_several_workers_without_redis():
    # Counts in process memory: the real limit would be workers x the configured one.
    message = _refusal(ECERT_REDIS_URL=None)
    assert "ECERT_REDIS_URL" in message and "ECERT_WORKERS" in message


def test_production_refuses_several_workers_without_redis_explicitly_set():
    assert "ECERT_REDIS_URL" in _refusal(ECERT_REDIS_URL=None, ECERT_WORKERS="4")


@pytest.mark.parametrize("changes", [
    {"ECERT_WORKERS": "1"},  # one process: its counts are all there is (on one host)
    {"ECERT_RATE_LIMITS": "off"},  # nothing counted, nothing to share
])
def test_production_without_redis_is_fine_when_counts_need_no_sharing(changes: dict[str, str]):
    env = {k: v for k, v in GOOD.items() if k != "ECERT_REDIS_URL"}
    assert load_settings(environ={**env, **changes}).redis_url == ""


def test_production_refuses_metrics_without_a_token():
    assert "ECERT_METRICS_TOKEN" in _refusal(ECERT_METRICS_TOKEN=None)


def test_production_refuses_a_guessable_metrics_token():
    assert "ECERT_METRICS_TOKEN" in _refusal(ECERT_METRICS_TOKEN="metrics")


@pytest.mark.parametrize("url", ["http://lltp.gov.vn", "lltp.gov.vn", "ftp://lltp.gov.vn"])
def test_production_refuses_a_public_base_url_that_is_not_https(url: str):
    message = _refusal(ECERT_PUBLIC_BASE_URL=url)
    assert "ECERT_PUBLIC_BASE_URL" in message and "https" in message


def test_production_names_every_problem_at_once():
    message = _refusal(
        ECERT_DATABASE_URL="sqlite:///x.db",
        ECERT_IDP_JWKS="http://idp/jwks",
        ECERT_REDIS_URL=None,
        ECERT_METRICS_TOKEN=None,
        ECERT_PUBLIC_BASE_URL="http://lltp.gov.vn",
        ECERT_SECRET_KEY="short",
    )
    for name in ("ECERT_DATABASE_URL", "ECERT_IDP_JWKS", "ECERT_REDIS_URL", "ECERT_METRICS_TOKEN",
                 "ECERT_PUBLIC_BASE_URL", "ECERT_SECRET_KEY"):
        assert name in message, (name, message)


def test_missing_settings_are_named_with_the_unsafe_ones():
    message = _refusal(ECERT_IDP_AUDIENCE=None, ECERT_PUBLIC_BASE_URL="http://lltp.gov.vn")
    assert "ECERT_IDP_AUDIENCE" in message and "ECERT_PUBLIC_BASE_URL" in message


def test_development_keeps_its_local_defaults(tmp_path):
    # SQLite, plain http, two workers with in-memory counts and an open /metrics: all fine here.
    settings = load_settings(environ={"ECERT_INSTANCE_DIR": str(tmp_path)})
    assert settings.database_url.startswith("sqlite")
    assert settings.public_base_url.startswith("http://")
    assert settings.workers == 2 and not settings.redis_url and not settings.metrics_token


def test_development_accepts_what_production_refuses(tmp_path):
    env = {k: v for k, v in GOOD.items() if k not in ("ECERT_ENV", "ECERT_REDIS_URL", "ECERT_METRICS_TOKEN")}
    env.update(ECERT_INSTANCE_DIR=str(tmp_path), ECERT_DATABASE_URL="sqlite:///x.db",
               ECERT_IDP_JWKS="http://127.0.0.1:9000/jwks", ECERT_PUBLIC_BASE_URL="http://127.0.0.1:8000")
    assert not load_settings(environ=env).is_production


def test_metrics_answer_401_without_the_bearer_token(make_app):
    client = make_app(metrics_token="m" * 32).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    response = client.get("/metrics", headers={"Authorization": "Bearer " + "m" * 32})
    assert response.status_code == 200 and b"ecert_http_requests_total" in response.data


def test_metrics_in_production_without_a_token_answer_401(make_app):
    # Settings built around load_settings (overrides) must not open /metrics either: an empty
    # token would otherwise match an empty Authorization header.
    client = make_app(env="production", audit_key="a" * 32, metrics_token="").test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


def test_production_refuses_a_short_download_link_key():
    assert "ECERT_DOWNLOAD_LINK_KEYS" in _refusal(ECERT_DOWNLOAD_LINK_KEYS="k" * 40 + ",short")
    settings = load_settings(environ={**GOOD, "ECERT_DOWNLOAD_LINK_KEYS": "k" * 40 + ", " + "o" * 40})
    assert settings.download_link_keys.startswith("k")
