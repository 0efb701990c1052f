"""Serving the installed front-end packages: NHS.UK frontend from npm, plotly.js from PyPI.

Nothing is loaded from a CDN. Vendor files are served under their package's
version (``/vendor/10.6.1/nhsuk-frontend.min.css``) with a year-long cache
lifetime, so an upgrade changes every URL and no browser keeps an old file.
"""

from __future__ import annotations

import json
from pathlib import Path

import plotly
from flask import Blueprint, Flask, abort, current_app, send_from_directory, url_for
from flask.typing import ResponseReturnValue

from caseload.config import ROOT

NHSUK_PACKAGE = ROOT / "node_modules" / "nhsuk-frontend"
NHSUK_DIST = NHSUK_PACKAGE / "dist" / "nhsuk"
PLOTLY_DIR = Path(plotly.__file__).parent / "package_data"
ONE_YEAR = 365 * 24 * 3600
ONE_DAY = 24 * 3600

#: The only vendor files the app serves, by public name.
VENDOR_FILES = {
    "nhsuk-frontend.min.css": NHSUK_DIST / "nhsuk-frontend.min.css",
    "nhsuk-frontend.min.js": NHSUK_DIST / "nhsuk-frontend.min.js",
    "plotly.min.js": PLOTLY_DIR / "plotly.min.js",
}

bp = Blueprint("assets", __name__)


def _nhsuk_version() -> str:
    try:
        return str(json.loads((NHSUK_PACKAGE / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "missing"


def vendor_url(name: str) -> str:
    """The versioned URL of a vendor file, for templates."""
    return url_for("assets.vendor", version=current_app.config["VENDOR_VERSIONS"][name], name=name)


@bp.get("/vendor/<version>/<name>")
def vendor(version: str, name: str) -> ResponseReturnValue:
    """One of the installed front-end packages' compiled files, at its current version."""
    path = VENDOR_FILES.get(name)
    if path is None or version != current_app.config["VENDOR_VERSIONS"][name]:
        abort(404)
    if not path.exists():
        abort(404)
    return send_from_directory(path.parent, path.name, max_age=ONE_YEAR)


@bp.get("/assets/<path:filename>")
def nhsuk_assets(filename: str) -> ResponseReturnValue:
    """NHS.UK frontend's icons and images, at the path its CSS expects (unversioned)."""
    return send_from_directory(NHSUK_DIST / "assets", filename, max_age=ONE_DAY)


def init_app(app: Flask) -> None:
    """Register the asset routes and read the installed packages' versions once."""
    nhsuk = _nhsuk_version()
    app.config["VENDOR_VERSIONS"] = {
        "nhsuk-frontend.min.css": nhsuk,
        "nhsuk-frontend.min.js": nhsuk,
        "plotly.min.js": plotly.__version__,
    }
    app.add_template_global(vendor_url)
    app.register_blueprint(bp)
