"""The app as gunicorn serves it in the reliability and load runs: configuration from
the RELIABILITY_CONFIG environment variable (JSON), written by harness.start_server.

With CASELOAD_PROFILE_DIR set (scripts/load/run.py --profile), every request but
sign-in's (the load run signs in before it measures) runs under cProfile, one profile
per serving thread, written to that folder as ``<pid>-<thread>.prof`` every 50 of the
thread's requests and when the process exits."""

from __future__ import annotations

import atexit
import cProfile
import json
import os
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from caseload import create_app  # noqa: E402

app = create_app(json.loads(os.environ["RELIABILITY_CONFIG"]))


def profiled(wsgi: Callable[..., Iterable[bytes]], folder: Path) -> Callable[..., Any]:
    """The WSGI callable with each request profiled in its thread's profile."""
    local = threading.local()
    profiles: list[tuple[cProfile.Profile, Path]] = []
    lock = threading.Lock()

    def dump_all() -> None:
        with lock:
            for profile, path in profiles:
                profile.dump_stats(path)

    atexit.register(dump_all)

    def wrapper(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO", "").startswith("/login"):
            return wsgi(environ, start_response)
        if not hasattr(local, "profile"):
            local.profile = cProfile.Profile()
            local.count = 0
            local.path = folder / f"{os.getpid()}-{threading.get_ident()}.prof"
            with lock:
                profiles.append((local.profile, local.path))
        local.profile.enable()
        try:
            return list(wsgi(environ, start_response))
        finally:
            local.profile.disable()
            local.count += 1
            if local.count % 50 == 0:
                with lock:
                    local.profile.dump_stats(local.path)

    return wrapper


if os.environ.get("CASELOAD_PROFILE_DIR"):
    app.wsgi_app = profiled(  # type: ignore[method-assign]
        app.wsgi_app, Path(os.environ["CASELOAD_PROFILE_DIR"])
    )
