"""Serving the installed front-end packages: NHS.UK frontend from npm, plotly.js from PyPI.

Nothing is loaded from a CDN. Vendor files are served under their package's
version (``/vendor/10.6.1/nhsuk-frontend.min.css``) with a year-long cache
lifetime, so an upgrade changes every URL and no browser keeps an old file.

The NHS.UK stylesheet is served without its ``@font-face`` rules: they load the
Frutiger web font from assets.nhs.uk, which the content security policy blocks
(``font-src 'self'``), so every page would log a console error. Without them the
design system's own font stack falls back to Arial, as it intends where Frutiger
is unavailable. The copy is made once per process, in memory.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
from functools import cache
from pathlib import Path

import plotly
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    request,
    send_from_directory,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.security import safe_join

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

#: Rules a served stylesheet must not keep: web fonts from another site, and the
#: source map comment (the map describes the file before the rules were removed).
FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}")
SOURCE_MAP = re.compile(r"/\*# sourceMappingURL=[^*]*\*/\s*$")

#: Vendor files served with their external web fonts removed.
WITHOUT_FONTS = frozenset({"nhsuk-frontend.min.css"})

bp = Blueprint("assets", __name__)


def without_font_faces(css: str) -> str:
    """A stylesheet without its ``@font-face`` rules and source map comment."""
    return SOURCE_MAP.sub("", FONT_FACE.sub("", css))


@cache
def _stylesheet_without_fonts(path: Path) -> tuple[bytes, str]:
    """The stylesheet's bytes without web fonts, and their digest (once per process)."""
    body = without_font_faces(path.read_text(encoding="utf-8")).encode("utf-8")
    return body, hashlib.sha256(body).hexdigest()[:32]


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
    if name in WITHOUT_FONTS:
        body, digest = _stylesheet_without_fonts(path)
        response = Response(body, mimetype="text/css")
        response.cache_control.public = True
        response.cache_control.max_age = ONE_YEAR
        response.set_etag(digest)
        return response.make_conditional(request)
    return send_from_directory(path.parent, path.name, max_age=ONE_YEAR)


@bp.get("/assets/<path:filename>")
def nhsuk_assets(filename: str) -> ResponseReturnValue:
    """NHS.UK frontend's icons and images, at the path its CSS expects (unversioned).

    Read into memory (they are a few kilobytes): a browser often abandons the favicon
    request when it moves to the next page, and a file handed to the server as a stream
    would then be left open.
    """
    path = safe_join(str(NHSUK_DIST / "assets"), filename)
    if path is None or not Path(path).is_file():
        abort(404)
    data = Path(path).read_bytes()
    response = Response(data, mimetype=mimetypes.guess_type(path)[0] or "application/octet-stream")
    response.cache_control.public = True
    response.cache_control.max_age = ONE_DAY
    response.set_etag(hashlib.sha256(data).hexdigest())
    return response.make_conditional(request)


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
