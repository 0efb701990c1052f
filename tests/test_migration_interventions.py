"""Migration 0007: intervention codes need no schema change, and a downgrade leaves only
the values the older release can read."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask_migrate import downgrade, upgrade

from caseload.extensions import db
from tests.test_migrations import _seed_before_measure_storage, empty_app  # noqa: F401


def _interventions() -> dict[int, str | None]:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, intervention FROM contacts ORDER BY id")).all()
    return {row.id: row.intervention for row in rows}


def test_new_codes_become_other_on_downgrade_and_old_ones_stay(empty_app: Flask) -> None:  # noqa: F811
    upgrade(revision="0003")
    _seed_before_measure_storage()
    upgrade()
    with db.engine.begin() as conn:
        for contact_id, code in ((1, "computerised_cbt"), (3, "guided_self_help")):
            conn.execute(
                sa.text("UPDATE contacts SET intervention = :code WHERE id = :id"),
                {"code": code, "id": contact_id},
            )
    assert _interventions() == {1: "computerised_cbt", 2: None, 3: "guided_self_help"}
    downgrade(revision="0006")
    assert _interventions() == {1: "other", 2: None, 3: "guided_self_help"}
    upgrade()
    assert _interventions() == {1: "other", 2: None, 3: "guided_self_help"}
