"""``flask --app caseload ...`` commands: thin wrappers over tested functions."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from caseload.db import utcnow
from caseload.demo import (
    DEFAULT_CLIENTS,
    build_demo_service,
    build_demo_staff,
    write_credentials,
)
from caseload.domain.codes import Role
from caseload.domain.curves import DEFAULT_MIN_EPISODES
from caseload.domain.dates import local_date
from caseload.extensions import db
from caseload.models import User
from caseload.reporting.exports import export_scope, write_export
from caseload.scale import build_scale_service, write_scale_credentials
from caseload.services import ServiceError
from caseload.services.audit import verify_chain
from caseload.services.backup import backup_database, restore_database
from caseload.services.curves import rebuild_expected_curves
from caseload.services.pgroles import roles_script
from caseload.services.users import create_user
from caseload.web.forms import FORM_KEY_MIN_DAYS, prune_form_keys

#: Who an export from the command line is recorded as, in the audit trail.
EXPORT_ACTOR = "command line"


@click.command("create-user")
@click.argument("username")
@click.option(
    "--role", type=click.Choice([r.value for r in Role]), required=True, help="The one role."
)
@click.option("--team", "team_name", default=None, help="Team to join (workers) or lead.")
@click.option("--name", "display_name", default=None, help="Full name as shown to others.")
@click.password_option("--password", prompt="Passphrase (15+ characters)")
def create_user_command(
    username: str, role: str, team_name: str | None, display_name: str | None, password: str
) -> None:
    """Create a staff account. The second factor is enrolled at first sign-in."""
    try:
        user = create_user(
            username=username,
            password=password,
            role=Role(role),
            display_name=display_name,
            team_name=team_name,
        )
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Created {user.username} ({user.role.label}).")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has any user.")
@click.option("--seed", default=2009, show_default=True, help="Random seed for the demo data.")
@click.option(
    "--clients",
    default=DEFAULT_CLIENTS,
    show_default=True,
    type=click.IntRange(0, 10_000),
    help="How many synthetic clients (0 for staff accounts only).",
)
def seed_demo_command(if_empty: bool, seed: int, clients: int) -> None:
    """Build the demo service and write instance/demo-credentials.json."""
    path = Path(current_app.instance_path) / "demo-credentials.json"
    if if_empty and db.session.scalar(select(func.count(User.id))):
        click.echo("The database already has users; demo data not loaded.")
        if path.exists():
            click.echo(f"Demo credentials: {path}")
        return
    try:
        credentials = build_demo_staff()
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    write_credentials(path, credentials)
    click.echo(f"Demo service created: {len(credentials)} staff accounts.")
    if clients:
        now = utcnow()
        try:
            with click.progressbar(length=clients, label="Synthetic clients") as bar:
                summary = build_demo_service(
                    today=local_date(now),
                    now=now,
                    seed=seed,
                    clients=clients,
                    progress=bar.update,
                    checkpoint=db.session.commit,
                )
        except ServiceError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from error
        db.session.commit()
        rate = summary.recovery_rate
        click.echo(
            f"{summary.clients} clients, {summary.contacts} contacts, "
            f"{summary.discharged} discharged, {summary.notes} reflective notes; "
            f"recovery {'-' if rate is None else f'{rate:.0%}'} of "
            f"{summary.finished_at_caseness} finished at caseness."
        )
        click.echo(
            f"Supervision: {summary.sessions} sessions, {summary.reviews} reviews, "
            f"{summary.reassignments} cases reassigned."
        )
        click.echo(
            "Open cases (in treatment + waiting): "
            + ", ".join(
                f"{name} {summary.active_by_worker[name]}+{summary.waiting_by_worker[name]}"
                for name in summary.active_by_worker
            )
        )
    click.echo(f"Demo credentials: {path}")


@click.command("seed-scale")
@click.option(
    "--episodes", required=True, type=click.IntRange(1, 1_000_000), help="Episodes in all."
)
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(1, 10_000),
    help="Practitioners (default: one per 900 episodes, at least 2).",
)
@click.option("--seed", default=2009, show_default=True, help="Random seed for the data.")
@click.option(
    "--credentials",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the accounts (default instance/scale-credentials.json).",
)
def seed_scale_command(
    episodes: int, workers: int | None, seed: int, credentials: Path | None
) -> None:
    """Build a large synthetic service (bulk-inserted) on an empty, migrated database, and
    write the worker, supervisor, lead and admin accounts to sign in with."""
    path = credentials or Path(current_app.instance_path) / "scale-credentials.json"
    try:
        with click.progressbar(length=episodes, label="Synthetic episodes") as bar:
            summary = build_scale_service(episodes, workers=workers, seed=seed, progress=bar.update)
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    write_scale_credentials(path, summary)
    click.echo(
        f"{summary.episodes} episodes, {summary.contacts} contacts, {summary.clients} "
        f"clients, {summary.workers} practitioners in {summary.seconds:.1f} s."
    )
    click.echo(f"Accounts: {path}")


@click.command("rebuild-curves")
@click.option(
    "--min-episodes",
    default=DEFAULT_MIN_EPISODES,
    show_default=True,
    type=click.IntRange(1),
    help="Fewest episodes behind an expected score.",
)
def rebuild_curves_command(min_episodes: int) -> None:
    """Rebuild the expected-recovery curves from the service's finished episodes of clients
    who consent to central reporting."""
    used = rebuild_expected_curves(min_episodes=min_episodes)
    db.session.commit()
    click.echo(
        f"Expected curves rebuilt from {used} finished episodes of clients who consent "
        "to central reporting."
    )


@click.command("verify-audit")
@click.option(
    "--anchor",
    metavar="ID:HASH",
    default=None,
    help="An event id and the hash recorded for it earlier (printed by this command).",
)
def verify_audit_command(anchor: str | None) -> None:
    """Check the audit trail's hash chain; exit non-zero at the first broken link."""
    check = verify_chain(anchor=_anchor(anchor) if anchor else None)
    if check.broken is not None:
        raise click.ClickException(
            f"Audit trail broken at event {check.broken.event_id}: it {check.broken.problem}. "
            f"{check.events} events before it are intact."
        )
    click.echo(f"Audit trail intact: {check.events} events.")
    if check.last_id is not None:
        click.echo(f"Last event: {check.last_id}:{check.last_hash} (record it as an anchor).")


def _anchor(text: str) -> tuple[int, str]:
    event_id, _, event_hash = text.partition(":")
    if not event_id.isdigit() or len(event_hash) != 64:
        raise click.BadParameter("give the event id and its hash as ID:HASH", param_hint="--anchor")
    return int(event_id), event_hash.lower()


@click.command("backup")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="The new backup file (never overwritten).",
)
def backup_command(out: Path) -> None:
    """Back up the database (safe while the application serves)."""
    try:
        result = backup_database(db.engine, out)
    except ServiceError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"Backed up to {result.path} ({result.method}, {result.size:,} bytes).")


@click.command("restore")
@click.argument("backup", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace the contents of a database that holds data.")
def restore_command(backup: Path, force: bool) -> None:
    """Restore a backup into the database, then check the audit trail."""
    db.session.remove()
    try:
        result = restore_database(db.engine, backup, force=force)
    except ServiceError as error:
        raise click.ClickException(error.message) from error
    click.echo(
        f"Restored {backup}: {sum(result.rows.values()):,} rows in {len(result.rows)} tables, "
        f"at migration {result.revision or 'none'}."
    )
    if result.chain is None:
        click.echo(
            "The backup predates the audit chain: run `flask --app caseload db upgrade`, "
            "then `flask --app caseload verify-audit`."
        )
    elif result.chain.broken is not None:
        broken = result.chain.broken
        raise click.ClickException(
            f"Audit trail broken at event {broken.event_id}: it {broken.problem}."
        )
    else:
        click.echo(f"Audit trail intact: {result.chain.events} events.")


@click.command("export")
@click.argument("kind", type=click.Choice(["csv", "fhir"]))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="The new file to write (never overwritten).",
)
def export_command(kind: str, out: Path) -> None:
    """Export consented records for central reporting: the pseudonymised episode CSV
    (csv) or the pseudonymous FHIR bundle of PHQ-9 and GAD-7 results (fhir)."""
    if out.exists():
        raise click.ClickException(f"{out} exists already: choose a new file name.")
    scope = export_scope()
    label = f"Consented episodes ({kind})"
    with click.progressbar(length=scope.episodes, label=label) as bar:
        write_export(
            kind,
            out,
            scope=scope,
            actor_username=EXPORT_ACTOR,
            progress=lambda written: bar.update(written - bar.pos),
        )
    click.echo(
        f"Exported {scope.episodes} episodes of {len(scope.client_ids)} consenting clients "
        f"to {out} (readable by you only). The export is recorded in the audit trail."
    )


@click.command("prune-form-keys")
@click.option(
    "--days",
    type=click.IntRange(min=FORM_KEY_MIN_DAYS),
    default=2,
    show_default=True,
    help="Keep the keys of forms saved within this many days.",
)
def prune_form_keys_command(days: int) -> None:
    """Delete the keys that stop a form saving twice, once no session could submit it
    again (run daily: docs/operations.md)."""
    removed = prune_form_keys(older_than_days=days, now=utcnow())
    db.session.commit()
    click.echo(f"Deleted {removed} form keys saved more than {days} days ago.")


@click.command("pg-roles")
@click.option("--app-role", default="caseload_app", show_default=True, help="The app's role.")
@click.option("--schema", default="public", show_default=True, help="The tables' schema.")
def pg_roles_command(app_role: str, schema: str) -> None:
    """Print the GRANTs for the app's PostgreSQL role (run them as the owner)."""
    click.echo(roles_script(app_role, schema=schema), nl=False)


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(create_user_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(seed_scale_command)
    app.cli.add_command(rebuild_curves_command)
    app.cli.add_command(verify_audit_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(export_command)
    app.cli.add_command(pg_roles_command)
    app.cli.add_command(prune_form_keys_command)
