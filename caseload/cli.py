"""``flask --app caseload ...`` commands: thin wrappers over tested functions."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from caseload.db import utcnow
from caseload.demo import build_demo_service, build_demo_staff, write_credentials
from caseload.domain.codes import Role
from caseload.domain.curves import DEFAULT_MIN_EPISODES
from caseload.domain.dates import local_date
from caseload.extensions import db
from caseload.models import User
from caseload.services import ServiceError
from caseload.services.curves import rebuild_expected_curves
from caseload.services.users import create_user


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
    default=600,
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
            "Open cases (in treatment + waiting): "
            + ", ".join(
                f"{name} {summary.active_by_worker[name]}+{summary.waiting_by_worker[name]}"
                for name in summary.active_by_worker
            )
        )
    click.echo(f"Demo credentials: {path}")


@click.command("rebuild-curves")
@click.option(
    "--min-episodes",
    default=DEFAULT_MIN_EPISODES,
    show_default=True,
    type=click.IntRange(1),
    help="Fewest episodes behind an expected score.",
)
def rebuild_curves_command(min_episodes: int) -> None:
    """Rebuild the expected-recovery curves from the service's finished episodes."""
    used = rebuild_expected_curves(min_episodes=min_episodes)
    db.session.commit()
    click.echo(f"Expected curves rebuilt from {used} finished episodes.")


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(create_user_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(rebuild_curves_command)
