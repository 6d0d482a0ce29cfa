"""`ecert init` must not greet the operator with "run `ecert init`" (issue #10): the warnings
about a missing development PKI, signing key or audit key are for every other command."""
from __future__ import annotations

import logging
import sys

import pytest

import ecert
from ecert import create_app


def _fresh_app(tmp_path):
    return create_app({"instance_dir": tmp_path / "instance", "database_url": f"sqlite:///{tmp_path}/x.sqlite3"})


def _run_init_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and "ecert init" in r.getMessage()]


@pytest.mark.parametrize(
    ("argv", "warned"),
    [
        (["flask", "--app", "wsgi", "ecert", "init"], False),
        (["flask", "--app", "wsgi", "ecert", "init", "--json"], False),
        (["flask", "--app", "wsgi", "ecert", "staff", "list"], True),
        (["gunicorn", "wsgi:app"], True),
    ],
)
def test_setup_warnings_are_silent_while_init_runs(tmp_path, monkeypatch, caplog, argv, warned):
    monkeypatch.setattr(sys, "argv", argv)
    # The first app of a process installs the log handler, which would drop caplog's.
    monkeypatch.setattr(ecert, "_logging_configured", True)
    caplog.set_level(logging.INFO)
    _fresh_app(tmp_path)
    said = _run_init_warnings(caplog)
    assert bool(said) is warned, said
