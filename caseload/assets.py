"""Serving the front-end files: NHS.UK frontend and plotly.js's basic bundle from npm,
plotly.js's full bundle from PyPI, and the app's own ``static/`` folder.

Nothing is loaded from a CDN. Vendor files are served under their package's
version (``/vendor/10.6.1/nhsuk-frontend.min.css``) with a year-long cache
lifetime, so an upgrade changes every URL and no browser keeps an old file.

The app's own files are named by their content: ``url_for("static",
filename="css/app.css")`` gives ``/static/css/app.<digest>.css``, cached for a year
and marked immutable, so an edit changes the URL. The plain name is still served,
revalidated on every use (``no-cache`` with an ETag).

Every text file is sent compressed when the browser accepts it (brotli, else gzip),
compressed once per process on first use and kept in memory (gzip level 9, brotli
quality 9: about 0.1 s for the basic plotly.js bundle, 0.6 s for the full one).

The charts draw only scatter and bar traces (with shapes, error bars and date axes,
all in plotly.js's core), so pages load ``plotly-basic.min.js`` (about a quarter of
the full bundle, the same plotly.js version as the plotly Python package that builds
the figures). The full bundle stays served for a chart that needs another trace type.

The NHS.UK stylesheet is served without its ``@font-face`` rules: they load the
Frutiger web font from assets.nhs.uk, which the content security policy blocks
(``font-src 'self'``), so every page would log a console error. Without them the
design system's own font stack falls back to Arial, as it intends where Frutiger
is unavailable. The copy is made once per process, in memory.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import mimetypes
import os
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import brotli
import plotly
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from plotly.offline import get_plotlyjs_version
from werkzeug.security import safe_join

from caseload.config import ROOT

NHSUK_PACKAGE = ROOT / "node_modules" / "nhsuk-frontend"
NHSUK_DIST = NHSUK_PACKAGE / "dist" / "nhsuk"
PLOTLY_DIR = Path(plotly.__file__).parent / "package_data"
PLOTLY_BASIC_PACKAGE = ROOT / "node_modules" / "plotly.js-basic-dist-min"
STATIC_DIR = ROOT / "static"
ONE_YEAR = 365 * 24 * 3600
ONE_DAY = 24 * 3600

#: The only vendor files the app serves, by public name.
VENDOR_FILES = {
    "nhsuk-frontend.min.css": NHSUK_DIST / "nhsuk-frontend.min.css",
    "nhsuk-frontend.min.js": NHSUK_DIST / "nhsuk-frontend.min.js",
    "plotly.min.js": PLOTLY_DIR / "plotly.min.js",
    "plotly-basic.min.js": PLOTLY_BASIC_PACKAGE / "plotly-basic.min.js",
}

#: Characters of the content digest in a static file's public name.
DIGEST_LENGTH = 12
#: ``css/app.0123456789ab.css`` -> ``css/app``, ``0123456789ab``, ``.css``.
HASHED_NAME = re.compile(
    rf"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{{{DIGEST_LENGTH}}})(?P<suffix>\.[A-Za-z0-9]+)$"
)

#: Media types worth compressing (images such as PNG are compressed already).
COMPRESSIBLE = re.compile(r"^(text/|application/(javascript|json)|image/svg\+xml)")
#: Below this a compressed copy saves less than its headers cost.
MIN_COMPRESS_BYTES = 1024

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
    return _package_version(NHSUK_PACKAGE)


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
        body, _digest = _stylesheet_without_fonts(path)
        asset = _encoded(body, "text/css")
    else:
        asset = _file_asset(path)
    return _asset_response(asset, max_age=ONE_YEAR, immutable=True)


@dataclass(frozen=True)
class EncodedAsset:
    """A file's bytes as served: plain, gzip and brotli (``None`` where not worth it)."""

    mimetype: str
    digest: str
    identity: bytes
    gzip: bytes | None
    br: bytes | None


def _mimetype(name: str) -> str:
    if name.endswith((".mjs", ".js")):
        return "text/javascript"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _encoded(body: bytes, mimetype: str) -> EncodedAsset:
    """The body with its compressed copies, where they are smaller."""
    gzipped = brotlied = None
    if COMPRESSIBLE.match(mimetype) and len(body) >= MIN_COMPRESS_BYTES:
        gzipped = gzip.compress(body, compresslevel=9, mtime=0)
        brotlied = brotli.compress(body, quality=9)
        gzipped = gzipped if len(gzipped) < len(body) else None
        brotlied = brotlied if len(brotlied) < len(body) else None
    return EncodedAsset(
        mimetype=mimetype,
        digest=hashlib.sha256(body).hexdigest(),
        identity=body,
        gzip=gzipped,
        br=brotlied,
    )


def _file_asset(path: Path) -> EncodedAsset:
    """A file's encoded copies, made once per process and again only if the file changes."""
    stat = path.stat()
    return _file_asset_at(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=256)
def _file_asset_at(path: Path, mtime_ns: int, size: int) -> EncodedAsset:
    return _encoded(path.read_bytes(), _mimetype(path.name))


def _asset_response(asset: EncodedAsset, *, max_age: int, immutable: bool) -> ResponseReturnValue:
    """The asset in the best encoding the browser accepts, with its cache headers.

    Each encoding has its own ETag (RFC 9110 section 8.8.3: a strong validator
    names one representation), and ``Vary: Accept-Encoding`` tells caches to keep
    them apart.
    """
    accepted = request.accept_encodings
    body, encoding = asset.identity, None
    if asset.br is not None and accepted["br"]:
        body, encoding = asset.br, "br"
    elif asset.gzip is not None and accepted["gzip"]:
        body, encoding = asset.gzip, "gzip"
    response = Response(body, mimetype=asset.mimetype)
    if encoding:
        response.content_encoding = encoding
    if asset.gzip is not None or asset.br is not None:
        response.vary.add("Accept-Encoding")
    response.cache_control.public = True
    if immutable:
        response.cache_control.max_age = max_age
        response.cache_control.immutable = True
    else:
        response.cache_control.no_cache = True
    response.set_etag(asset.digest[:32] + (f"-{encoding}" if encoding else ""))
    return response.make_conditional(request)


def static_digest(filename: str) -> str | None:
    """The content digest of a file under ``static/``, or ``None`` if there is none."""
    path = safe_join(str(STATIC_DIR), filename)
    if path is None or not os.path.isfile(path):
        return None
    return _file_asset(Path(path)).digest[:DIGEST_LENGTH]


def hashed_static_name(filename: str) -> str:
    """``css/app.css`` -> ``css/app.<digest>.css``; a missing file keeps its name."""
    digest = static_digest(filename)
    if digest is None:
        return filename
    stem, dot, suffix = filename.rpartition(".")
    if not dot or "/" in suffix or not stem or stem.endswith("/"):
        return filename
    return f"{stem}.{digest}.{suffix}"


def _hash_static_urls(endpoint: str, values: dict[str, Any]) -> None:
    """``url_for("static", ...)`` names the file by its content."""
    if endpoint == "static" and "filename" in values:
        values["filename"] = hashed_static_name(values["filename"])


def static_file(filename: str) -> ResponseReturnValue:
    """A file of ``static/``: under its hashed name for a year, under its plain name
    revalidated each time. A digest that is not the file's current one is not found."""
    immutable = False
    match = HASHED_NAME.match(filename)
    if match is not None and static_digest(filename) is None:
        plain = f"{match['stem']}{match['suffix']}"
        if static_digest(plain) != match["digest"]:
            abort(404)
        filename, immutable = plain, True
    path = safe_join(str(STATIC_DIR), filename)
    if path is None or not os.path.isfile(path):
        abort(404)
    return _asset_response(_file_asset(Path(path)), max_age=ONE_YEAR, immutable=immutable)


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


def _package_version(package: Path) -> str:
    try:
        return str(json.loads((package / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "missing"


def init_app(app: Flask) -> None:
    """Register the asset routes and read the installed packages' versions once.

    The basic plotly.js bundle must be the version the plotly Python package was
    built against, or figures could use attributes the browser's copy does not know:
    a mismatch is logged when the app starts.
    """
    nhsuk = _nhsuk_version()
    plotly_basic = _package_version(PLOTLY_BASIC_PACKAGE)
    if plotly_basic != get_plotlyjs_version():
        app.logger.warning(
            "plotly.js-basic-dist-min is %s but plotly %s draws with plotly.js %s",
            plotly_basic,
            plotly.__version__,
            get_plotlyjs_version(),
        )
    app.config["VENDOR_VERSIONS"] = {
        "nhsuk-frontend.min.css": nhsuk,
        "nhsuk-frontend.min.js": nhsuk,
        "plotly.min.js": plotly.__version__,
        "plotly-basic.min.js": plotly_basic,
    }
    app.add_template_global(vendor_url)
    app.register_blueprint(bp)
    if "static" in app.view_functions:
        app.view_functions["static"] = static_file
        app.url_defaults(_hash_static_urls)
