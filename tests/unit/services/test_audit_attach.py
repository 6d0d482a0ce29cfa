"""attach() must give every new sessionmaker the audit listeners, whatever came before it."""

from __future__ import annotations

import gc

from sqlalchemy.orm import sessionmaker

from ecert.services import audit


def test_a_sessionmaker_made_after_others_were_collected_still_gets_the_listeners():
    # SQLAlchemy's event registry keys targets by id(): a sessionmaker whose class reuses the id
    # of a collected one looked as if it already had the listeners, and its commits wrote no
    # audit events (tests make and drop a sessionmaker per app, so this happened in the suite).
    without = 0
    for round_no in range(300):
        sessions = sessionmaker()
        audit.attach(sessions)
        session = sessions()
        listeners = list(session.dispatch.before_commit)
        session.close()
        if audit._before_commit not in listeners:  # noqa: SLF001 - the listener is the contract here
            without += 1
        del sessions, session
        if round_no % 25 == 0:
            gc.collect()
    assert without == 0


def test_attaching_twice_adds_the_listeners_once():
    sessions = sessionmaker()
    audit.attach(sessions)
    audit.attach(sessions)
    listeners = list(sessions().dispatch.before_commit)
    assert listeners.count(audit._before_commit) == 1  # noqa: SLF001
