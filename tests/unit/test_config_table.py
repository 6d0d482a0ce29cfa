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
