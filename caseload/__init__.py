"""caseload: caseload and outcome tracker for NHS Talking Therapies low-intensity workers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from caseload import assets, cli, errors, web
from caseload.about.views import bp as about_bp
from caseload.account.views import bp as account_bp
from caseload.admin.views import bp as admin_bp
from caseload.auth.views import bp as auth_bp
from caseload.cases.views import bp as cases_bp
from caseload.clients.views import bp as clients_bp
from caseload.config import ROOT, load_config
from caseload.db import render_migration_item
from caseload.diary.views import bp as diary_bp
from caseload.exports.views import bp as exports_bp
from caseload.extensions import csrf, db, login_manager, migrate
from caseload.lead.views import bp as lead_bp
from caseload.main.views import bp as main_bp
from caseload.notes.views import bp as notes_bp
from caseload.supervision.views import bp as supervision_bp
from caseload.web.signin_shed import SignInShed


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application: config, extensions, blueprints, error handlers, CLI."""
    instance_path = (test_config or {}).get("INSTANCE_PATH") or ROOT / "instance"
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    load_config(app, test_config)
    if app.config["PROXY_COUNT"]:
        # Throttling and the audit trail need the client's address, not the proxy's.
        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]
    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(Path(__file__).parent / "migrations"),
        render_as_batch=True,
        compare_type=True,
        render_item=render_migration_item,
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    web.init_app(app)
    assets.init_app(app)
    errors.init_app(app)
    register_blueprints(app)
    cli.init_app(app)
    web.refuse_demo_accounts_in_production(app)
    # Outermost, so a flood's refused sign-ins cost no more than writing a stored page.
    app.wsgi_app = SignInShed(app, app.wsgi_app)  # type: ignore[method-assign]
    return app


def register_blueprints(app: Flask) -> None:
    """Attach every area's blueprint."""
    app.register_blueprint(auth_bp)
    app.register_blueprint(main_bp)
    app.register_blueprint(cases_bp)
    app.register_blueprint(diary_bp)
    app.register_blueprint(clients_bp)
    app.register_blueprint(notes_bp)
    app.register_blueprint(supervision_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(lead_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(about_bp)
    app.register_blueprint(account_bp)
