"""Migration 0011: the summary columns the lead's dashboard needs are filled for the rows
already stored, and go again on downgrade."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask_migrate import downgrade, upgrade

from caseload.extensions import db
from tests.test_migrations import _seed_before_measure_storage, empty_app  # noqa: F401

COLUMNS = ("second_treatment_gap_days", "contacts_with_outcome", "dna_contacts")


def _summary() -> dict[str, object]:
    with db.engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT second_treatment_gap_days, contacts_with_outcome, dna_contacts "
                "FROM episode_summaries WHERE episode_id = 1"
            )
        ).one()
    return dict(zip(COLUMNS, row, strict=True))


def _columns() -> set[str]:
    return {c["name"] for c in sa.inspect(db.engine).get_columns("episode_summaries")}


def test_the_dashboard_columns_are_filled_from_the_stored_contacts(empty_app: Flask) -> None:  # noqa: F811
    upgrade(revision="0003")
    _seed_before_measure_storage()  # three attended treatment contacts: 10 Jan, 20 Jan, 20 Feb
    upgrade(revision="0010")
    with db.engine.begin() as conn:
        # The second contact was in fact missed, and a fourth is still booked.
        conn.execute(sa.text("UPDATE contacts SET attendance = 3 WHERE id = 2"))
        conn.execute(
            sa.text(
                "INSERT INTO contacts (id, episode_id, occurred_at, contact_type, mode, "
                "attendance, note, risk_factors, risk_action, status, status_reason, created_at, "
                "created_by_id, version) VALUES (4, 1, '2026-03-10 10:00:00', 'treatment', "
                "'telephone', 0, '', '', '', 'current', '', '2026-01-01 00:00:00', 1, 1)"
            )
        )
    assert not set(COLUMNS) & _columns()
    upgrade(revision="0011")
    # First and second treatment contacts as the summary stored them: 10 and 20 January.
    assert _summary() == {
        "second_treatment_gap_days": 10,
        "contacts_with_outcome": 3,
        "dna_contacts": 1,
    }
    downgrade(revision="0010")
    assert not set(COLUMNS) & _columns()
    upgrade()
    assert set(COLUMNS) <= _columns()
