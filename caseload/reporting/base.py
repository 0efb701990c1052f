"""The one consent-filtered base that every central-reporting query starts from.

docs/design.md section 3: without consent a record is fully usable for the client's
care and invisible to central reporting (dashboards, the findings view,
exports and anything derived from them, including reflective notes linked to
that client). Consent is read at query time, so a withdrawal takes effect on
the next query.
"""

from __future__ import annotations

from sqlalchemy import Select, and_, or_, select

from caseload.models import Client, Episode, EpisodeSummary, ReflectiveNote, Team
from caseload.policy import clients_in_force, episodes_in_force


def consented_client_ids() -> Select[int]:
    """Ids of clients who currently consent to central reporting (and were not
    registered by mistake: a client entered in error is in no report)."""
    return select(Client.id).where(Client.consent_central_reporting.is_(True), clients_in_force())


def reportable_episodes() -> Select[Episode, EpisodeSummary]:
    """Episodes of consenting clients, with their summaries: the base for outcome figures.
    An episode entered in error is left out like a client without consent."""
    return (
        select(Episode, EpisodeSummary)
        .join(EpisodeSummary, EpisodeSummary.episode_id == Episode.id)
        .where(Episode.client_id.in_(consented_client_ids()), episodes_in_force())
    )


def worker_load_episodes() -> Select[Episode, EpisodeSummary]:
    """Every episode in force with its summary, consented or not: for worker load only.

    docs/design.md section 10: how many cases a worker holds (week by week, when a note
    was written, treatments finished a year) is data about the worker's workload and
    counts every case. Nothing else may start here: no score, date, outcome or
    demographic of a client without consent may reach a figure through it.
    """
    return (
        select(Episode, EpisodeSummary)
        .join(EpisodeSummary, EpisodeSummary.episode_id == Episode.id)
        .where(episodes_in_force())
    )


def reportable_notes() -> Select[ReflectiveNote]:
    """Reflective notes that may be counted: unlinked, or linked to a consenting client's
    episode in force."""
    return (
        select(ReflectiveNote)
        .outerjoin(Episode, Episode.id == ReflectiveNote.episode_id)
        .where(
            or_(
                ReflectiveNote.episode_id.is_(None),
                and_(Episode.client_id.in_(consented_client_ids()), episodes_in_force()),
            )
        )
    )


def report_teams() -> Select[Team]:
    """The service's teams by name, for a report's team filter (no client data)."""
    return select(Team).order_by(Team.name)
