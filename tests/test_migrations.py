"""Migrations and models agree, and upgrade, downgrade, upgrade works on this database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade

from caseload import create_app
from caseload.extensions import db
from tests.conftest import PG_URL, base_config, pg_schema_url


@pytest.fixture
def empty_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on a database with no tables at all."""
    schema = None
    if PG_URL:
        schema = f"mig_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = pg_schema_url(schema)
    else:
        url = f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
    app = create_app(base_config(url, tmp_path / "instance"))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    if schema:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def schema_diff() -> list[object]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, db.metadata))


def table_names() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade_and_models_match(empty_app: Flask) -> None:
    upgrade()
    assert table_names() == set(db.metadata.tables)
    assert schema_diff() == []
    downgrade(revision="base")
    assert table_names() == set()
    upgrade()
    assert schema_diff() == []


def test_audit_trail_cannot_be_changed_in_the_database(empty_app: Flask) -> None:
    upgrade()
    with db.engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO audit_events (at, action) VALUES (CURRENT_TIMESTAMP, 'x')")
        )
    for statement in ("UPDATE audit_events SET action = 'y'", "DELETE FROM audit_events"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(sa.text(statement))


def _seed_before_measure_storage() -> None:
    """A client, an episode with three contacts and a note, as 0003 stored them."""
    statements = [
        "INSERT INTO users (id, username, display_name, role, active, is_demo, password_hash, "
        "password_changed_at, created_at) VALUES (1, 'w', 'W', 'worker', true, false, 'x', "
        "'2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        "INSERT INTO clients (id, service_ref, name, date_of_birth, consent_central_reporting, "
        "created_at, created_by_id, version) VALUES (1, 'CL-1', 'A', '1990-01-01', true, "
        "'2026-01-01 00:00:00', 1, 1)",
        "INSERT INTO episodes (id, client_id, worker_id, referral_date, referral_source, "
        "referrer_expectation, presenting_problem, step, complexity_factors, complexity_note, "
        "discharge_note, created_at, version, discharged_on, discharge_reason) VALUES (1, 1, 1, "
        "'2026-01-01', 'gp', 'x', 'Depression', 2, '[\"housing\", \"debt\"]', '', '', "
        "'2026-01-01 00:00:00', 1, '2026-03-01', 'completed')",
        "INSERT INTO episode_summaries (episode_id, treatment_contacts, attended_contacts, "
        "consecutive_dnas, attended_missing_measures, missing_measures_with_reason, "
        "attended_with_both_measures, phq9_series, gad7_series, booked_contacts, updated_at) "
        "VALUES (1, 3, 3, 0, 1, 1, 2, '[18, 5]', '[14, 4]', 0, '2026-01-01 00:00:00')",
        "INSERT INTO reflective_notes (id, author_id, written_at, text, themes, episode_id, "
        "shared_with_supervisor, caseload_at_writing) VALUES (1, 1, '2026-02-01 00:00:00', "
        "'t', '[\"role_confusion\"]', 1, false, 3)",
    ]
    contact = (
        "INSERT INTO contacts (id, episode_id, occurred_at, contact_type, mode, attendance, "
        "note, phq9_answers, phq9_total, phq9_item9, gad7_answers, gad7_total, "
        "not_collected_reason, risk_level, risk_factors, risk_action, status, status_reason, "
        "created_at, created_by_id, version) VALUES ({id}, 1, '{at}', 'treatment', "
        "'telephone', 5, '', {phq}, {phq_total}, {item9}, {gad}, {gad_total}, {reason}, "
        "{risk}, '', 'plan', 'current', '', '2026-01-01 00:00:00', 1, 1)"
    )
    statements += [
        contact.format(
            id=1,
            at="2026-01-10 10:00:00",
            phq="'[2,2,2,2,2,2,2,2,2]'",
            phq_total=18,
            item9=2,
            gad="'[2,2,2,2,2,2,2]'",
            gad_total=14,
            reason="NULL",
            risk="'moderate'",
        ),
        contact.format(
            id=2,
            at="2026-01-20 10:00:00",
            phq="NULL",
            phq_total="NULL",
            item9="NULL",
            gad="NULL",
            gad_total="NULL",
            reason="'declined'",
            risk="NULL",
        ),
        contact.format(
            id=3,
            at="2026-02-20 10:00:00",
            phq="'[1,1,1,1,1,0,0,0,0]'",
            phq_total=5,
            item9=0,
            gad="'[1,1,1,1,0,0,0]'",
            gad_total=4,
            reason="NULL",
            risk="'low'",
        ),
    ]
    with db.engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))


def test_measure_storage_migration_moves_the_data_and_back(empty_app: Flask) -> None:
    upgrade(revision="0003")
    _seed_before_measure_storage()
    upgrade(revision="0004")
    with db.engine.connect() as conn:
        scores = conn.execute(
            sa.text(
                "SELECT contact_id, measure_id, total, risk_answer, not_collected_reason "
                "FROM contact_scores ORDER BY contact_id, measure_id"
            )
        ).all()
        assert [tuple(r) for r in scores] == [
            (1, "gad7", 14, None, None),
            (1, "phq9", 18, 2, None),
            (2, "gad7", None, None, "declined"),
            (2, "phq9", None, None, "declined"),
            (3, "gad7", 4, None, None),
            (3, "phq9", 5, 0, None),
        ]
        summary = conn.execute(
            sa.text(
                "SELECT treatment_contacts, finished_treatment, caseness_at_start, paired, "
                "recovered, reliably_improved, reliably_recovered, risk_open, is_active, "
                "latest_risk_answer, days_to_first_treatment FROM episode_summaries"
            )
        ).one()
        assert tuple(summary) == (3, True, True, True, True, True, True, False, False, 0, 9)
        measures = conn.execute(
            sa.text(
                "SELECT measure_id, first_score, last_score FROM episode_measure_summaries "
                "ORDER BY measure_id"
            )
        ).all()
        assert [tuple(m) for m in measures] == [("gad7", 14, 4), ("phq9", 18, 5)]
        assert sorted(
            conn.execute(sa.text("SELECT factor FROM episode_complexity_factors")).scalars()
        ) == ["debt", "housing"]
        assert list(conn.execute(sa.text("SELECT theme FROM note_themes")).scalars()) == [
            "role_confusion"
        ]
    downgrade(revision="0003")
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT id, phq9_total, phq9_item9, gad7_total, not_collected_reason "
                "FROM contacts ORDER BY id"
            )
        ).all()
        assert [tuple(r) for r in rows] == [
            (1, 18, 2, 14, None),
            (2, None, None, None, "declined"),
            (3, 5, 0, 4, None),
        ]
        first, last = conn.execute(
            sa.text("SELECT first_phq9, last_phq9 FROM episode_summaries")
        ).one()
        assert (first, last) == (18, 5)
    upgrade()
    assert schema_diff() == []
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM contact_scores")).scalar() == 6


def _seed_before_consent_states() -> None:
    """Clients and consent histories as 0005 stored them: yes or no only."""
    statements = [
        "INSERT INTO users (id, username, display_name, role, active, is_demo, password_hash, "
        "password_changed_at, created_at) VALUES (1, 'w', 'W', 'worker', true, false, 'x', "
        "'2026-01-01 00:00:00', '2026-01-01 00:00:00')",
    ]
    #: client id -> (consent flag, [(record id, consented, recorded at)])
    histories = {
        1: (True, [(1, True, "2026-01-01 09:00:00")]),
        2: (False, [(2, False, "2026-01-01 09:00:00")]),
        3: (
            False,
            [
                (3, False, "2026-01-01 09:00:00"),
                (4, True, "2026-02-01 09:00:00"),
                (5, False, "2026-03-01 09:00:00"),
            ],
        ),
        4: (True, [(6, False, "2026-01-01 09:00:00"), (7, True, "2026-02-01 09:00:00")]),
        5: (False, []),
        6: (False, [(8, False, "2026-01-01 09:00:00"), (9, False, "2026-01-01 09:00:00")]),
    }
    client = sa.text(
        "INSERT INTO clients (id, service_ref, name, date_of_birth, consent_central_reporting, "
        "created_at, created_by_id, version) VALUES (:id, :ref, 'A', '1990-01-01', :flag, "
        "'2026-01-01 00:00:00', 1, 1)"
    )
    record = sa.text(
        "INSERT INTO consent_records (id, client_id, consented, recorded_at, recorded_by_id, "
        "note) VALUES (:id, :client_id, :consented, :at, 1, '')"
    )
    with db.engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))
        for client_id, (flag, records) in histories.items():
            conn.execute(client, {"id": client_id, "ref": f"C-{client_id}", "flag": flag})
            for record_id, consented, at in records:
                conn.execute(
                    record,
                    {"id": record_id, "client_id": client_id, "consented": consented, "at": at},
                )


def test_consent_migration_maps_yes_and_no_to_three_states_and_back(empty_app: Flask) -> None:
    upgrade(revision="0005")
    _seed_before_consent_states()
    upgrade(revision="0006")
    with db.engine.connect() as conn:
        records = conn.execute(
            sa.text("SELECT id, consent_state, consented FROM consent_records ORDER BY id")
        ).all()
        assert (
            conn.execute(
                sa.text("SELECT count(*) FROM consent_records WHERE answered_on IS NOT NULL")
            ).scalar()
            == 0
        )
        assert [tuple(r) for r in records] == [
            (1, "yes", True),
            (2, "not_asked", False),  # the registration default, "No, or not asked yet"
            (3, "not_asked", False),
            (4, "yes", True),
            (5, "declined", False),  # a later "no" on the consent page
            (6, "not_asked", False),
            (7, "yes", True),
            (8, "not_asked", False),  # the same moment: the lower id came first
            (9, "declined", False),
        ]
        clients = conn.execute(
            sa.text(
                "SELECT id, consent_state, consent_central_reporting, may_leave_message, "
                "sms_allowed, interpreter_needed, gender_identity, postcode FROM clients "
                "ORDER BY id"
            )
        ).all()
        assert [tuple(c)[:3] for c in clients] == [
            (1, "yes", True),
            (2, "not_asked", False),
            (3, "declined", False),
            (4, "yes", True),
            (5, "not_asked", False),
            (6, "declined", False),
        ]
        assert {tuple(c)[3:] for c in clients} == {(False, False, False, None, None)}
    assert "ix_clients_date_of_birth" in {
        index["name"] for index in sa.inspect(db.engine).get_indexes("clients")
    }
    downgrade(revision="0005")
    with db.engine.connect() as conn:
        flags = conn.execute(
            sa.text("SELECT id, consent_central_reporting FROM clients ORDER BY id")
        ).all()
        assert [tuple(f) for f in flags] == [
            (1, True),
            (2, False),
            (3, False),
            (4, True),
            (5, False),
            (6, False),
        ]
        consented = conn.execute(sa.text("SELECT consented FROM consent_records ORDER BY id"))
        assert list(consented.scalars()) == [True, False, False, True, False, False, True] + [
            False,
            False,
        ]
    assert "consent_state" not in {c["name"] for c in sa.inspect(db.engine).get_columns("clients")}
    upgrade()
    assert schema_diff() == []


#: Changes the append-only triggers refuse, by table.
AUDIT_CHANGES = {
    "audit_events": ("UPDATE audit_events SET at = at", "DELETE FROM audit_events"),
    "audit_event_clients": (
        "UPDATE audit_event_clients SET at = at",
        "DELETE FROM audit_event_clients",
    ),
}


def _refuses_changes(table: str) -> None:
    """The database refuses to update or delete the table's rows (append-only)."""
    for statement in AUDIT_CHANGES[table]:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(sa.text(statement))


def test_audit_chain_migration_chains_stored_events_and_keeps_the_guards(
    empty_app: Flask,
) -> None:
    from caseload.services.audit import GENESIS, record_event, verify_chain

    upgrade(revision="0008")
    events = [
        (1, "2026-01-01 09:00:00", "login.failure", None, '{"reason": "password"}'),
        (2, "2026-01-01 09:05:30.250000", "caseload.view", None, '{"tab": "all", "episodes": 2}'),
        (3, "2026-01-02 10:00:00", "episode.view", 7, "null"),
    ]
    with db.engine.begin() as conn:
        for event_id, at, action, client_id, detail in events:
            conn.execute(
                sa.text(
                    "INSERT INTO audit_events (id, at, actor_username, action, client_id, ip, "
                    "detail) VALUES (:id, :at, 'jo', :action, :client_id, '10.0.0.1', :detail)"
                ),
                {
                    "id": event_id,
                    "at": at,
                    "action": action,
                    "client_id": client_id,
                    "detail": detail,
                },
            )
        for event_id, client_id in ((2, 7), (2, 8), (3, 7)):
            conn.execute(
                sa.text(
                    "INSERT INTO audit_event_clients (audit_event_id, client_id, at) "
                    "VALUES (:event_id, :client_id, '2026-01-01 09:05:30')"
                ),
                {"event_id": event_id, "client_id": client_id},
            )
    upgrade()
    assert schema_diff() == []
    check = verify_chain()
    assert (check.intact, check.events, check.last_id) == (True, 3, 3)
    with db.engine.connect() as conn:
        first = conn.execute(sa.text("SELECT prev_hash FROM audit_events WHERE id = 1")).scalar()
    assert first == GENESIS
    # The application goes on from the migrated chain.
    record_event("episode.view", actor_username="jo", client_id=8)
    db.session.commit()
    assert verify_chain().events == 4
    # The guards were dropped to chain the events, and stand again on both tables.
    _refuses_changes("audit_events")
    _refuses_changes("audit_event_clients")

    downgrade(revision="0008")
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("audit_events")}
    assert {"prev_hash", "hash"}.isdisjoint(columns)
    _refuses_changes("audit_events")
    _refuses_changes("audit_event_clients")
    upgrade()
    assert schema_diff() == []
    assert verify_chain().events == 4
