"""The app as gunicorn serves it in the reliability runs: configuration from the
RELIABILITY_CONFIG environment variable (JSON), written by harness.start_server."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from caseload import create_app  # noqa: E402

app = create_app(json.loads(os.environ["RELIABILITY_CONFIG"]))
