"""Registration to the national dataset: demographics, contact preferences, an emergency
contact, and consent to central reporting in three states.

- ``clients`` gains what the NHS Talking Therapies dataset asks about the person
  (gender identity, ethnic category, employment status, long-term physical condition,
  disability, sexual orientation, preferred language and interpreter), the postcode and
  GP practice code, contact preferences (message, SMS) and an emergency contact. All
  are empty for existing clients: nobody recorded them.
- Consent gains a state, ``consent_state`` (yes, declined, not_asked), on ``clients``
  and on ``consent_records``. The booleans stay, derived from the state and checked by
  the database to agree with it, so central reporting keeps filtering on one indexed
  column. A consent record also gains the day the client answered (``answered_on``),
  empty for the records made before it was asked.
- ``clients.date_of_birth`` is indexed for the duplicate check at registration.

Existing consent is mapped as docs/worker-guide.md ("Consent to central reporting")
records. Registration used to offer "No, or not asked yet" as its default and the
consent page "No, the client does not consent", so:

- a record saying yes is "yes";
- a client's first record saying no (the registration default) is "not asked yet";
- any later record saying no (a change on the consent page) is "declined";
- a client takes the state of their latest record: "yes" when they consent, else
  "declined" when that record is a later no, else "not asked yet".

The downgrade drops the states and keeps the booleans, which already agree with them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 05:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


CONSENT_STATE = _enum("consentstate", "yes", "declined", "not_asked")
GENDER_IDENTITY = _enum(
    "genderidentity", "male", "female", "non_binary", "other", "not_known", "not_stated"
)
ETHNIC_CATEGORY = _enum(
    "ethniccategory",
    "white_british",
    "white_irish",
    "white_other",
    "mixed_white_black_caribbean",
    "mixed_white_black_african",
    "mixed_white_asian",
    "mixed_other",
    "asian_indian",
    "asian_pakistani",
    "asian_bangladeshi",
    "asian_other",
    "black_caribbean",
    "black_african",
    "black_other",
    "chinese",
    "other",
    "not_stated",
    "not_known",
)
EMPLOYMENT_STATUS = _enum(
    "employmentstatus",
    "employed",
    "unemployed_seeking_work",
    "student",
    "long_term_sick_or_disabled",
    "homemaker",
    "not_working_not_seeking",
    "unpaid_voluntary_work",
    "retired",
    "not_stated",
)
YES_NO = _enum("yesnonotstated", "yes", "no", "not_stated")
SEXUAL_ORIENTATION = _enum(
    "sexualorientation",
    "heterosexual",
    "gay_or_lesbian",
    "bisexual",
    "other",
    "unsure",
    "not_stated",
)

#: New boolean columns of clients: not null, false for existing clients.
FLAGS = ("may_leave_message", "sms_allowed", "interpreter_needed")

#: The state of each consent record: see the module docstring.
RECORD_STATES = """
UPDATE consent_records SET consent_state = CASE
    WHEN consented THEN 'yes'
    WHEN EXISTS (
        SELECT 1 FROM consent_records earlier
        WHERE earlier.client_id = consent_records.client_id
          AND (earlier.recorded_at < consent_records.recorded_at
               OR (earlier.recorded_at = consent_records.recorded_at
                   AND earlier.id < consent_records.id))
    ) THEN 'declined'
    ELSE 'not_asked'
END
"""

#: The state of each client, from the flag and their latest record.
CLIENT_STATES = """
UPDATE clients SET consent_state = CASE
    WHEN consent_central_reporting THEN 'yes'
    WHEN (
        SELECT latest.consent_state FROM consent_records latest
        WHERE latest.client_id = clients.id
        ORDER BY latest.recorded_at DESC, latest.id DESC
        LIMIT 1
    ) = 'declined' THEN 'declined'
    ELSE 'not_asked'
END
"""


def upgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        for flag in FLAGS:
            batch_op.add_column(
                sa.Column(flag, sa.Boolean(), nullable=False, server_default=sa.false())
            )
        batch_op.add_column(sa.Column("gp_practice_code", sa.String(length=6), nullable=True))
        batch_op.add_column(sa.Column("postcode", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("gender_identity", GENDER_IDENTITY, nullable=True))
        batch_op.add_column(sa.Column("ethnic_category", ETHNIC_CATEGORY, nullable=True))
        batch_op.add_column(sa.Column("employment_status", EMPLOYMENT_STATUS, nullable=True))
        batch_op.add_column(sa.Column("long_term_condition", YES_NO, nullable=True))
        batch_op.add_column(sa.Column("disability", YES_NO, nullable=True))
        batch_op.add_column(sa.Column("sexual_orientation", SEXUAL_ORIENTATION, nullable=True))
        batch_op.add_column(sa.Column("preferred_language", sa.String(length=60), nullable=True))
        batch_op.add_column(
            sa.Column("emergency_contact_name", sa.String(length=120), nullable=True)
        )
        batch_op.add_column(
            sa.Column("emergency_contact_relationship", sa.String(length=60), nullable=True)
        )
        batch_op.add_column(
            sa.Column("emergency_contact_phone", sa.String(length=30), nullable=True)
        )
        batch_op.add_column(sa.Column("consent_state", CONSENT_STATE, nullable=True))
        batch_op.create_index(
            batch_op.f("ix_clients_date_of_birth"), ["date_of_birth"], unique=False
        )
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consent_state", CONSENT_STATE, nullable=True))
        batch_op.add_column(sa.Column("answered_on", sa.Date(), nullable=True))

    op.execute(RECORD_STATES)
    op.execute(CLIENT_STATES)

    with op.batch_alter_table("clients", schema=None) as batch_op:
        for flag in FLAGS:
            batch_op.alter_column(flag, existing_type=sa.Boolean(), server_default=None)
        batch_op.alter_column("consent_state", existing_type=CONSENT_STATE, nullable=False)
        batch_op.create_check_constraint(
            op.f("ck_clients_consent_in_step"),
            "consent_central_reporting = (consent_state = 'yes')",
        )
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.alter_column("consent_state", existing_type=CONSENT_STATE, nullable=False)
        batch_op.create_check_constraint(
            op.f("ck_consent_records_consent_in_step"), "consented = (consent_state = 'yes')"
        )


def downgrade() -> None:
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_consent_records_consent_in_step"), type_="check")
        batch_op.drop_column("answered_on")
        batch_op.drop_column("consent_state")
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_clients_consent_in_step"), type_="check")
        batch_op.drop_index(batch_op.f("ix_clients_date_of_birth"))
        for column in (
            "consent_state",
            "emergency_contact_phone",
            "emergency_contact_relationship",
            "emergency_contact_name",
            "preferred_language",
            "sexual_orientation",
            "disability",
            "long_term_condition",
            "employment_status",
            "ethnic_category",
            "gender_identity",
            "postcode",
            "gp_practice_code",
            *FLAGS,
        ):
            batch_op.drop_column(column)
