"""The citizen's change feed: ``GET /api/v1/events?after=<cursor>`` (DESIGN §11).

The same events are pushed to the identity app's notification gateway by the relay
(docs/notifications.md); the feed is how the app catches up on what it missed.
"""

from __future__ import annotations

from flask_smorest import Blueprint

from api.citizen.auth import CITIZEN_SECURITY, citizen_required, current_citizen
from api.citizen.schemas import EventArgsSchema, EventPageSchema
from api.deps import db_session
from api.errors import documented_problems
from ecert.models import OutboxEvent
from ecert.services import outbox
from ecert.services.paging import Page

blp = Blueprint("events", __name__, url_prefix="/api/v1/events", description="The citizen's change feed")


@blp.route("")
@citizen_required
@blp.arguments(EventArgsSchema, location="query", as_kwargs=True)
@blp.response(200, EventPageSchema)
@documented_problems(blp, {401: "Missing or invalid identity token", 422: "A bad limit or cursor"})
@blp.doc(security=CITIZEN_SECURITY)
def list_events(limit: int, after: str | None) -> Page[OutboxEvent]:
    """The citizen's events after the cursor, oldest first. Keep next_cursor and send it as
    `after` next time: the answer then holds only what happened since."""
    return outbox.feed(db_session(), current_citizen().personal_id, limit=limit, after=after)
