"""Every central-reporting query starts from the consent-filtered base."""

from __future__ import annotations

import ast
from pathlib import Path

import caseload.reporting

REPORTING = Path(caseload.reporting.__file__).parent


def test_only_the_base_builds_queries_from_scratch() -> None:
    offenders = []
    for path in sorted(REPORTING.glob("*.py")):
        if path.name in {"__init__.py", "base.py"}:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module == "sqlalchemy"
                and any(alias.name in {"select", "text"} for alias in node.names)
            ):
                offenders.append(f"{path.name}:{node.lineno} imports sqlalchemy.select/text")
    assert offenders == []


def test_reporting_modules_use_the_base() -> None:
    modules = [p for p in REPORTING.glob("*.py") if p.name not in {"__init__.py", "base.py"}]
    assert modules, "reporting has figures to check"
    for path in modules:
        assert "caseload.reporting.base" in path.read_text(), path.name
