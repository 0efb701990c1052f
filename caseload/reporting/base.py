"""The one consent-filtered base that every central-reporting query starts from.

docs/design.md section 3: without consent a record is fully usable for the client's
care and invisible to central reporting (dashboards, the findings view,
exports and anything derived from them, including reflective notes linked to
that client). Consent is read at query time, so a withdrawal takes effect on
the next query.
"""

from __future__ import annotations

from sqlalchemy import Select, or_, select

from caseload.models import Client, Episode, EpisodeSummary, ReflectiveNote


def consented_client_ids() -> Select[int]:
    """Ids of clients who currently consent to central reporting."""
    return select(Client.id).where(Client.consent_central_reporting.is_(True))


def reportable_episodes() -> Select[Episode, EpisodeSummary]:
    """Episodes of consenting clients, with their summaries: the base for outcome figures."""
    return (
        select(Episode, EpisodeSummary)
        .join(EpisodeSummary, EpisodeSummary.episode_id == Episode.id)
        .where(Episode.client_id.in_(consented_client_ids()))
    )


def reportable_notes() -> Select[ReflectiveNote]:
    """Reflective notes that may be counted: unlinked, or linked to a consenting client."""
    return (
        select(ReflectiveNote)
        .outerjoin(Episode, Episode.id == ReflectiveNote.episode_id)
        .where(
            or_(
                ReflectiveNote.episode_id.is_(None),
                Episode.client_id.in_(consented_client_ids()),
            )
        )
    )
