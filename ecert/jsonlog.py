"""One JSON object per log line, so the platform's log shipper needs no parsing rules."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
# Never an IP address, not even in the logs (DESIGN §7): a field named for a client's address
# is dropped here whoever passes it, so one careless ``extra=`` cannot put it in a log line.
_ADDRESS_FIELDS = frozenset(
    {
        "remote_addr",
        "client_address",
        "client_addr",
        "client_ip",
        "ip",
        "ip_address",
        "remote_ip",
        "x_forwarded_for",
        "forwarded_for",
        "REMOTE_ADDR",
        "HTTP_X_FORWARDED_FOR",
    }
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in _ADDRESS_FIELDS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
