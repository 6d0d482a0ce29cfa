"""Settings, read once from ``ECERT_*`` environment variables.

Development fills what is missing with generated or local values and says so in the log;
production refuses to start and names every missing secret and every unsafe setting (SQLite,
plain http, unshared rate-limit counts, an open /metrics) at once, so a deploy fails at boot
rather than at the first request, or quietly at scale.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

from ecert.errors import ConfigurationError

log = logging.getLogger(__name__)

# The issuing authority of the national judicial-record system; a provincial Department of
# Justice (Sở Tư pháp) deployment sets its own through ECERT_ISSUER_ID / ECERT_AUTHORITY_NAME.
DEFAULT_ISSUER_ID = "VN-NJRC"
DEFAULT_AUTHORITY_NAME = "Trung tâm Lý lịch tư pháp quốc gia"
# The city printed before the issue date ("Hà Nội, ngày ..."): the authority's seat, so a provincial
# deployment sets its own through ECERT_PLACE_OF_ISSUE.
DEFAULT_PLACE_OF_ISSUE = "Hà Nội"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be one of on/off/true/false, not {raw!r}")


def _int(name: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, not {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}")
    return value


def _seconds(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not 0 < value <= 300:  # also refuses nan and inf
        raise ConfigurationError(f"{name} must be more than 0 and at most 300 seconds")
    return value


def _seconds_or_zero(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not 0 <= value <= 5:  # also refuses nan and inf
        raise ConfigurationError(f"{name} must be from 0 to 5 seconds")
    return value


def _parse_holidays(name: str, raw: str) -> frozenset[date]:
    days = set()
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            days.add(date.fromisoformat(part))
        except ValueError:
            raise ConfigurationError(f"{name}: {part!r} is not a YYYY-MM-DD date") from None
    return frozenset(days)


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    instance_dir: Path = Path("instance")
    database_url: str = ""
    secret_key: str = ""
    public_base_url: str = "http://127.0.0.1:8000"
    issuer_id: str = DEFAULT_ISSUER_ID
    authority_name: str = DEFAULT_AUTHORITY_NAME
    place_of_issue: str = DEFAULT_PLACE_OF_ISSUE
    idp_jwks: str = ""
    idp_issuer: str = ""
    idp_audience: str = ""
    idp_leeway_seconds: int = 60
    idp_min_loa: int = 2
    redis_url: str = ""
    auto_issue: bool = True
    rate_limits: str = ""
    bind: str = "127.0.0.1:8000"
    workers: int = 2
    # Proxy hops in front of the app whose X-Forwarded-For entries are trusted (werkzeug's
    # ProxyFix, wired in api.register); 0: the client is the TCP peer and the header is ignored.
    trusted_proxies: int = 0
    max_body_bytes: int = 256 * 1024
    max_pdf_upload_bytes: int = 1024 * 1024
    # PDF checks are CPU-bound and run apart from the web worker: at most this many at once
    # on a host, each stopped after this many seconds (ECERT_PDF_CHECK_SLOTS/_SECONDS).
    pdf_check_slots: int = 1
    pdf_check_seconds: float = 5.0
    # Verification events are written by a thread of each worker in batches this many seconds
    # apart (ecert.batched); 0 writes each in its request's transaction. A kill -9 loses at most
    # this window (docs/operations.md).
    verification_log_seconds: float = 0.25
    extra_holidays: frozenset[date] = field(default_factory=frozenset)
    pki_dir: Path = Path("instance/pki")
    root_cert_path: Path | None = None
    signing_key_passphrase: str = ""
    staff_idle_minutes: int = 30
    staff_absolute_hours: int = 8
    staff_lockout_attempts: int = 5
    staff_lockout_minutes: int = 15
    log_json: bool = True
    metrics_token: str = ""
    # HMAC key of the audit chain (ECERT_AUDIT_KEY); development falls back to a key file in
    # the instance dir (see the audit service). Never stored in the database it protects.
    audit_key: str = ""
    # The owner role's URL for migrations on PostgreSQL (ECERT_DATABASE_OWNER_URL); the app's
    # own role (ECERT_DATABASE_URL) cannot drop the audit triggers.
    database_owner_url: str = ""
    # Verification events older than this are deleted by `ecert verifications prune` (DESIGN §7:
    # the holder sees who checked; nobody needs that list for ever).
    verification_retention_days: int = 365
    # How long a signed download link (a certificate's links.pdf_download) stays valid.
    download_link_minutes: int = 10
    # The keys that sign download links, newest first: the first signs, every one verifies, so a
    # key can be rotated without breaking the links already handed out. Empty: one key derived
    # from ECERT_SECRET_KEY (ecert.services.download_links.link_keys).
    download_link_keys: str = ""
    # The identity app's notification gateway, which the relay (`ecert outbox relay`) POSTs each
    # change-feed event to, signed with the secret (docs/notifications.md). Development points
    # them at the development receiver (`python -m ecert.dev.receiver`, started by `make run`).
    notify_webhook_url: str = ""
    notify_webhook_secret: str = ""

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def dev_idp_dir(self) -> Path:
        return self.instance_dir / "idp"

    @property
    def rate_limits_enabled(self) -> bool:
        return self.rate_limits.strip().lower() != "off"

    def with_overrides(self, overrides: Mapping[str, Any]) -> Settings:
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ConfigurationError(f"unknown settings: {', '.join(sorted(unknown))}")
        return replace(self, **overrides)


DEV_IDP_ISSUER = "https://idp.dev.ecert.local"
DEV_IDP_AUDIENCE = "ecert"
# Development's notification gateway: ecert.dev.receiver, which logs what it receives. The secret
# is public on purpose (it is in this file): production refuses a short one and requires its own.
DEV_WEBHOOK_URL = "http://127.0.0.1:8025/notifications"
DEV_WEBHOOK_SECRET = "development-webhook-secret"


# Settings read as text: ECERT_<FIELD> as given, or the field's default when unset or blank.
_TEXT_SETTINGS = (
    "database_url",
    "secret_key",
    "issuer_id",
    "authority_name",
    "place_of_issue",
    "idp_jwks",
    "idp_issuer",
    "idp_audience",
    "redis_url",
    "rate_limits",
    "bind",
    "signing_key_passphrase",
    "metrics_token",
    "audit_key",
    "database_owner_url",
    "download_link_keys",
    "notify_webhook_url",
    "notify_webhook_secret",
)


def _at_least(minimum: int) -> Callable[[str, str], int]:
    return lambda name, raw: _int(name, raw, minimum)


def _between(minimum: int, maximum: int) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        value = _int(name, raw, minimum)
        if value > maximum:
            raise ConfigurationError(f"{name} must be at most {maximum}")
        return value

    return parse


# Settings parsed from their text: (ECERT_ name, field, parser); an unset or blank one keeps its
# default. A parser gets the variable's full name for its error message.
_PARSED_SETTINGS: tuple[tuple[str, str, Callable[[str, str], Any]], ...] = (
    ("AUTO_ISSUE", "auto_issue", _bool),
    ("WORKERS", "workers", _at_least(1)),
    ("TRUSTED_PROXIES", "trusted_proxies", _at_least(0)),
    ("MAX_BODY_BYTES", "max_body_bytes", _at_least(1024)),
    ("MAX_PDF_UPLOAD_BYTES", "max_pdf_upload_bytes", _at_least(1024)),
    ("PDF_CHECK_SLOTS", "pdf_check_slots", _at_least(1)),
    ("PDF_CHECK_SECONDS", "pdf_check_seconds", _seconds),
    ("VERIFICATION_LOG_SECONDS", "verification_log_seconds", _seconds_or_zero),
    ("STAFF_IDLE_MINUTES", "staff_idle_minutes", _at_least(1)),
    ("STAFF_ABSOLUTE_HOURS", "staff_absolute_hours", _at_least(1)),
    ("STAFF_LOCKOUT_MINUTES", "staff_lockout_minutes", _at_least(1)),
    ("STAFF_LOCKOUT_ATTEMPTS", "staff_lockout_attempts", _at_least(1)),
    ("LOG_JSON", "log_json", _bool),
    ("HOLIDAYS", "extra_holidays", _parse_holidays),
    ("VERIFICATION_RETENTION_DAYS", "verification_retention_days", _at_least(1)),
    # Minutes, not hours: the link is for the phone's viewer or share sheet, right now.
    ("DOWNLOAD_LINK_MINUTES", "download_link_minutes", _between(1, 60)),
)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ

    def get(name: str, default: str = "") -> str:
        return env.get(f"ECERT_{name}", default).strip()

    mode = get("ENV", "development").lower()
    if mode not in {"development", "production"}:
        raise ConfigurationError(f"ECERT_ENV must be development or production, not {mode!r}")
    values = _read_values(get, mode)
    if mode == "production":
        problems = production_problems(values, get)
        if problems:
            raise ConfigurationError("production refuses to start: " + "; ".join(problems))
    else:
        _fill_development_defaults(values)
    return Settings(**values)


def _read_values(get: Callable[[str], str], mode: str) -> dict[str, Any]:
    """The settings the environment gives, each parsed and checked; the rest keep their defaults."""
    defaults = Settings()
    instance_dir = Path(get("INSTANCE_DIR") or "instance").resolve()
    values: dict[str, Any] = {
        "env": mode,
        "instance_dir": instance_dir,
        "public_base_url": get("PUBLIC_BASE_URL").rstrip("/"),
        "pki_dir": Path(get("PKI_DIR") or instance_dir / "pki").resolve(),
        # The automatic path is a policy decision: on by default only where nothing is real.
        "auto_issue": mode != "production",
    }
    values |= {name: get(name.upper()) or getattr(defaults, name) for name in _TEXT_SETTINGS}
    values |= {
        name: parse(f"ECERT_{env_name}", get(env_name)) for env_name, name, parse in _PARSED_SETTINGS if get(env_name)
    }
    return values


def _fill_development_defaults(values: dict[str, Any]) -> None:
    """Development runs with nothing set: what is missing gets a local value, and the log says which."""
    instance_dir = values["instance_dir"]
    filled = []
    if not values["database_url"]:
        values["database_url"] = f"sqlite:///{instance_dir / 'ecert.sqlite3'}"
        filled.append("ECERT_DATABASE_URL")
    if not values["secret_key"]:
        values["secret_key"] = secrets.token_urlsafe(32)
        filled.append("ECERT_SECRET_KEY")
    if not values["public_base_url"]:
        values["public_base_url"] = f"http://{values['bind']}"
        filled.append("ECERT_PUBLIC_BASE_URL")
    if not values["idp_jwks"]:
        values["idp_jwks"] = str(instance_dir / "idp" / "jwks.json")
        filled.append("ECERT_IDP_JWKS (development identity provider)")
    if not values["notify_webhook_url"]:
        values["notify_webhook_url"] = DEV_WEBHOOK_URL
        filled.append("ECERT_NOTIFY_WEBHOOK_URL (development receiver)")
    if not values["notify_webhook_secret"]:
        values["notify_webhook_secret"] = DEV_WEBHOOK_SECRET
        filled.append("ECERT_NOTIFY_WEBHOOK_SECRET")
    values["idp_issuer"] = values["idp_issuer"] or DEV_IDP_ISSUER
    values["idp_audience"] = values["idp_audience"] or DEV_IDP_AUDIENCE
    if filled:
        log.info("development defaults in use for: %s", ", ".join(filled))


_REQUIRED_IN_PRODUCTION = (
    "DATABASE_URL",
    "SECRET_KEY",
    "PUBLIC_BASE_URL",
    "IDP_JWKS",
    "IDP_ISSUER",
    "IDP_AUDIENCE",
    "AUDIT_KEY",
    "METRICS_TOKEN",
)
# A bearer token shorter than this can be guessed; the secrets are HMAC keys of 256 bits.
_MIN_METRICS_TOKEN = 16
_MIN_KEY = 32


def production_problems(values: Mapping[str, Any], get: Callable[[str], str]) -> list[str]:
    """Every reason production must not start with these settings (DESIGN §3), in one list, so
    one failed deploy shows the operator all there is to fix. Empty when the settings are safe."""
    missing = [f"ECERT_{name}" for name in _REQUIRED_IN_PRODUCTION if not get(name)]
    problems = ["missing settings: " + ", ".join(missing)] if missing else []
    database_url = values["database_url"]
    if database_url and database_url.split(":", 1)[0].split("+", 1)[0].lower() != "postgresql":
        # SQLite is one file on one host: workers on several hosts would not share it.
        problems.append(
            f"ECERT_DATABASE_URL must be PostgreSQL (postgresql+psycopg://...), not {database_url.split(':', 1)[0]!r}"
        )
    if values["secret_key"] and len(values["secret_key"]) < _MIN_KEY:
        problems.append(f"ECERT_SECRET_KEY must be at least {_MIN_KEY} characters")
    if values["audit_key"] and len(values["audit_key"]) < _MIN_KEY:
        problems.append(f"ECERT_AUDIT_KEY must be at least {_MIN_KEY} characters")
    base_url = values["public_base_url"]
    if base_url and not base_url.lower().startswith("https://"):
        # It is printed in every QR: a plain-http link would send phones to a page anyone on
        # the path can rewrite.
        problems.append("ECERT_PUBLIC_BASE_URL must be an https:// URL")
    if values["idp_jwks"].lower().startswith("http://"):
        # Whoever can change the keys in transit can sign identity tokens for anyone.
        problems.append("ECERT_IDP_JWKS must be an https:// URL or a file, not plain http")
    rate_limits = str(values["rate_limits"]).strip().lower() != "off"
    if values.get("workers", Settings.workers) > 1 and rate_limits and not values["redis_url"]:
        # Each process would keep its own counts: the real limit would be workers x the set one.
        problems.append(
            "ECERT_REDIS_URL is needed with ECERT_WORKERS > 1 and rate limits on "
            "(set it, or ECERT_WORKERS=1, or ECERT_RATE_LIMITS=off)"
        )
    short_keys = [key for key in str(values["download_link_keys"]).split(",") if 0 < len(key.strip()) < _MIN_KEY]
    if short_keys:
        problems.append(f"each key of ECERT_DOWNLOAD_LINK_KEYS must be at least {_MIN_KEY} characters")
    token = values["metrics_token"]
    if token and len(token) < _MIN_METRICS_TOKEN:
        problems.append(f"ECERT_METRICS_TOKEN must be at least {_MIN_METRICS_TOKEN} characters")
    return problems + _webhook_problems(values)


def _webhook_problems(values: Mapping[str, Any]) -> list[str]:
    """Without a URL nothing is relayed (the feed still works); with one, it must be safe."""
    url = values["notify_webhook_url"]
    if not url:
        return []
    problems = []
    if not url.lower().startswith("https://"):
        # The notification names the citizen: it must not cross the network in the clear.
        problems.append("ECERT_NOTIFY_WEBHOOK_URL must be an https:// URL")
    if len(values["notify_webhook_secret"]) < _MIN_KEY:
        # The gateway trusts what this key signs: a short one can be guessed offline.
        problems.append(f"ECERT_NOTIFY_WEBHOOK_SECRET must be set, at least {_MIN_KEY} characters, with the URL")
    return problems
