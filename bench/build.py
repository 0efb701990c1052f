"""``python -m bench.build URL EPISODES INSTANCE OUT``: build a synthetic service into an empty
database and write its summary as JSON; run by the bench in a process of its own, so
the build's time and peak memory are its own and the measuring process starts clean."""

from __future__ import annotations

import dataclasses
import json
import resource
import sys
import time
from pathlib import Path

from flask_migrate import upgrade

from caseload import create_app
from caseload.extensions import db
from caseload.scale import build_scale_service


def main(url: str, episodes: int, instance: Path, out: Path) -> None:
    """Migrate, build, and write ``{"summary": ..., "seconds": ..., "peak_rss_mb": ...}``.

    The instance folder (its secret key, from which TOTP secrets are encrypted) is the
    one the measuring app then uses."""
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(instance)})
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        summary = build_scale_service(episodes)
        seconds = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out.write_text(
        json.dumps(
            {
                "summary": dataclasses.asdict(summary),
                "seconds": round(seconds, 1),
                "peak_rss_mb": round(peak_kb / 1024),
            }
        ),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
