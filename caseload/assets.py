"""Serving the installed front-end packages: NHS.UK frontend from npm, plotly.js from PyPI.

Nothing is loaded from a CDN. Files are served with long cache lifetimes; their
names change when the packages are upgraded, because the package version is
part of the URL.
"""

from __future__ import annotations

from pathlib import Path

import plotly
from flask import Blueprint, Flask, abort, send_from_directory
from flask.typing import ResponseReturnValue

from caseload import ROOT

NHSUK_DIST = ROOT / "node_modules" / "nhsuk-frontend" / "dist" / "nhsuk"
PLOTLY_DIR = Path(plotly.__file__).parent / "package_data"
ONE_YEAR = 365 * 24 * 3600

#: The only vendor files the app serves, by public name.
VENDOR_FILES = {
    "nhsuk-frontend.min.css": NHSUK_DIST / "nhsuk-frontend.min.css",
    "nhsuk-frontend.min.js": NHSUK_DIST / "nhsuk-frontend.min.js",
    "plotly.min.js": PLOTLY_DIR / "plotly.min.js",
}

bp = Blueprint("assets", __name__)


@bp.get("/vendor/<name>")
def vendor(name: str) -> ResponseReturnValue:
    """One of the installed front-end packages' compiled files."""
    path = VENDOR_FILES.get(name)
    if path is None or not path.exists():
        abort(404)
    return send_from_directory(path.parent, path.name, max_age=ONE_YEAR)


@bp.get("/assets/<path:filename>")
def nhsuk_assets(filename: str) -> ResponseReturnValue:
    """NHS.UK frontend's icons and images, at the path its CSS expects."""
    return send_from_directory(NHSUK_DIST / "assets", filename, max_age=ONE_YEAR)


def init_app(app: Flask) -> None:
    """Register the asset routes."""
    app.register_blueprint(bp)
