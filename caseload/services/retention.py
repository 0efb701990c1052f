"""Records are never deleted through the app: a record made by mistake is marked
"entered in error" instead (docs/design.md section 7, docs/worker-guide.md).

An episode recorded by mistake, or a whole client registered twice, is marked with
who, when and why. ``caseload.policy.episodes_in_force`` and ``clients_in_force``
then keep it out of every list, search, diary, queue and report, because every
visibility clause and the reporting base include them. The rows and their audit
trail stay in the database.
"""

from __future__ import annotations

from datetime import datetime

from caseload.db import utcnow
from caseload.extensions import db
from caseload.models import Client, Episode, User
from caseload.services import Conflict, ServiceError
from caseload.services.audit import record_event

REASON_MAX = 2000


def _reason(reason: str) -> str:
    cleaned = reason.strip()
    if not cleaned:
        raise ServiceError(
            "Say why this was entered in error.",
            field_errors={"reason": "Say why this was entered in error."},
        )
    if len(cleaned) > REASON_MAX:
        message = f"The reason must be at most {REASON_MAX} characters."
        raise ServiceError(message, field_errors={"reason": message})
    return cleaned


def client_may_be_marked(asker: User, client: Client) -> str | None:
    """Why the whole client may not be marked entered in error by the asker, or None.

    Only when every episode of the client still in force is the asker's, or is
    discharged: no one else's open case disappears with it.
    """
    others_open = [
        e
        for e in client.episodes
        if e.entered_in_error_at is None and e.is_open and e.worker_id != asker.id
    ]
    if others_open:
        return (
            "The client has an open episode held by another practitioner, so only this "
            "episode can be marked."
        )
    return None


def mark_entered_in_error(
    asker: User,
    episode: Episode,
    *,
    reason: str,
    whole_client: bool,
    expected_version: int,
    now: datetime | None = None,
) -> list[Episode]:
    """Mark an episode the asker holds (loaded with ``episodes.get_episode(...,
    for_change=True)``), or its whole client (a client registered twice), as entered in
    error; returns the episodes marked.

    The reason is required. A whole client is marked only when
    ``client_may_be_marked``; then every episode of theirs still in force is marked too,
    so no visibility rule has to look past the episode. Audited as
    ``episode.entered_in_error`` or ``client.entered_in_error``, naming the client.
    """
    if episode.version != expected_version:
        raise Conflict(episode.id)
    cleaned = _reason(reason)
    now = now or utcnow()
    client = episode.client
    if whole_client:
        refused = client_may_be_marked(asker, client)
        if refused:
            raise ServiceError(refused, field_errors={"scope": refused})
        marked = [e for e in client.episodes if e.entered_in_error_at is None]
        _mark(client, asker, cleaned, now)
    else:
        marked = [episode]
    for each in marked:
        _mark(each, asker, cleaned, now)
    db.session.flush()
    record_event(
        "client.entered_in_error" if whole_client else "episode.entered_in_error",
        actor=asker,
        object_type="client" if whole_client else "episode",
        object_id=client.id if whole_client else episode.id,
        client_id=client.id,
        detail={"reason": cleaned, "episodes": sorted(e.id for e in marked)},
    )
    return marked


def _mark(record: Client | Episode, asker: User, reason: str, now: datetime) -> None:
    record.entered_in_error_at = now
    record.entered_in_error_by_id = asker.id
    record.entered_in_error_reason = reason
