"""load_settings reads its settings from one table: each ECERT_ variable lands in its field, a bad
value names the variable, and development fills what is missing."""

from datetime import date

import pytest

from ecert.config import _PARSED_SETTINGS, _TEXT_SETTINGS, Settings, load_settings
from ecert.errors import ConfigurationError

GOOD = {
    "AUTO_ISSUE": ("off", False),
    "WORKERS": ("3", 3),
    "MAX_BODY_BYTES": ("2048", 2048),
    "MAX_PDF_UPLOAD_BYTES": ("4096", 4096),
    "PDF_CHECK_SLOTS": ("2", 2),
    "PDF_CHECK_SECONDS": ("7.5", 7.5),
    "VERIFICATION_LOG_SECONDS": ("0", 0.0),
    "TRUSTED_PROXIES": ("1", 1),
    "STAFF_IDLE_MINUTES": ("10", 10),
    "STAFF_ABSOLUTE_HOURS": ("4", 4),
    "STAFF_LOCKOUT_MINUTES": ("20", 20),
    "STAFF_LOCKOUT_ATTEMPTS": ("6", 6),
    "LOG_JSON": ("no", False),
    "HOLIDAYS": ("2026-09-02, 2026-09-03", frozenset({date(2026, 9, 2), date(2026, 9, 3)})),
    "VERIFICATION_RETENTION_DAYS": ("90", 90),
    "DOWNLOAD_LINK_MINUTES": ("5", 5),
}


def test_the_table_covers_every_parsed_setting():
    assert {env_name for env_name, _, _ in _PARSED_SETTINGS} == set(GOOD)


@pytest.mark.parametrize(("env_name", "field"), [(env_name, field) for env_name, field, _ in _PARSED_SETTINGS])
def test_each_parsed_setting_lands_in_its_field(tmp_path, env_name, field):
    raw, expected = GOOD[env_name]
    settings = load_settings({"ECERT_INSTANCE_DIR": str(tmp_path), f"ECERT_{env_name}": raw})
    assert getattr(settings, field) == expected


@pytest.mark.parametrize("env_name", [env_name for env_name, _, _ in _PARSED_SETTINGS])
def test_a_bad_value_names_its_variable(tmp_path, env_name):
    with pytest.raises(ConfigurationError, match=f"ECERT_{env_name}"):
        load_settings({"ECERT_INSTANCE_DIR": str(tmp_path), f"ECERT_{env_name}": "-x"})


def test_text_settings_read_as_given_or_default(tmp_path):
    settings = load_settings({"ECERT_INSTANCE_DIR": str(tmp_path), "ECERT_ISSUER_ID": " VN-HN ", "ECERT_BIND": ""})
    assert settings.issuer_id == "VN-HN"
    assert settings.bind == Settings.bind
    assert set(_TEXT_SETTINGS) <= {f.lower() for f in Settings.__dataclass_fields__}


def test_development_fills_what_is_missing(tmp_path):
    settings = load_settings({"ECERT_INSTANCE_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'ecert.sqlite3'}"
    assert settings.public_base_url == "http://127.0.0.1:8000"
    assert settings.idp_jwks == str(tmp_path.resolve() / "idp" / "jwks.json")
    assert settings.auto_issue is True and len(settings.secret_key) >= 32


def test_download_link_minutes_are_minutes(tmp_path):
    with pytest.raises(ConfigurationError, match="ECERT_DOWNLOAD_LINK_MINUTES must be at most 60"):
        load_settings({"ECERT_INSTANCE_DIR": str(tmp_path), "ECERT_DOWNLOAD_LINK_MINUTES": "61"})
    settings = load_settings({"ECERT_INSTANCE_DIR": str(tmp_path)})
    assert settings.download_link_minutes == 10 and settings.verification_retention_days == 365
    keys = load_settings({"ECERT_INSTANCE_DIR": str(tmp_path), "ECERT_DOWNLOAD_LINK_KEYS": "a" * 40 + ",b" * 1})
    assert keys.download_link_keys == "a" * 40 + ",b"
# --- the notification gateway (issue 11 part 5): ECERT_NOTIFY_WEBHOOK_URL / _SECRET ---------------

_PRODUCTION = {
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
_GATEWAY = "https://notify.vneid.gov.vn/hooks/ecert"


def test_the_webhook_settings_are_read_as_given(tmp_path):
    settings = load_settings({"ECERT_INSTANCE_DIR": str(tmp_path), "ECERT_NOTIFY_WEBHOOK_URL": f" {_GATEWAY} ",
                              "ECERT_NOTIFY_WEBHOOK_SECRET": "w" * 40})
    assert (settings.notify_webhook_url, settings.notify_webhook_secret) == (_GATEWAY, "w" * 40)


def test_development_points_notifications_at_the_development_receiver(tmp_path):
    from ecert.config import DEV_WEBHOOK_SECRET, DEV_WEBHOOK_URL

    settings = load_settings({"ECERT_INSTANCE_DIR": str(tmp_path)})
    assert settings.notify_webhook_url == DEV_WEBHOOK_URL == "http://127.0.0.1:8025/notifications"
    assert settings.notify_webhook_secret == DEV_WEBHOOK_SECRET


def test_production_with_a_safe_gateway_starts():
    settings = load_settings({**_PRODUCTION, "ECERT_NOTIFY_WEBHOOK_URL": _GATEWAY,
                              "ECERT_NOTIFY_WEBHOOK_SECRET": "w" * 32})
    assert settings.notify_webhook_url == _GATEWAY


def test_production_without_a_gateway_starts_and_relays_nothing():
    settings = load_settings(_PRODUCTION)
    assert settings.notify_webhook_url == "" and settings.notify_webhook_secret == ""


@pytest.mark.parametrize(("changes", "named"), [
    ({"ECERT_NOTIFY_WEBHOOK_URL": "http://notify.vneid.gov.vn/hooks", "ECERT_NOTIFY_WEBHOOK_SECRET": "w" * 32},
     "ECERT_NOTIFY_WEBHOOK_URL must be an https:// URL"),
    ({"ECERT_NOTIFY_WEBHOOK_URL": _GATEWAY, "ECERT_NOTIFY_WEBHOOK_SECRET": "w" * 31},
     "ECERT_NOTIFY_WEBHOOK_SECRET must be set"),
    ({"ECERT_NOTIFY_WEBHOOK_URL": _GATEWAY}, "ECERT_NOTIFY_WEBHOOK_SECRET must be set"),
])
def test_production_refuses_an_unsafe_gateway(changes, named):
    with pytest.raises(ConfigurationError, match=named):
        load_settings({**_PRODUCTION, **changes})
