"""The domain package stays pure: standard library and caseload.domain only."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "caseload" / "domain"
BANNED_PREFIXES = ("flask", "sqlalchemy", "werkzeug", "jinja2", "wtforms", "alembic")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import stays inside caseload.domain
                continue
            names.append(node.module or "")
    return names


def _problem(name: str) -> str | None:
    top = name.split(".")[0]
    if top == "caseload":
        if name == "caseload.domain" or name.startswith("caseload.domain."):
            return None
        return "imports caseload outside caseload.domain"
    if top.lower().startswith(BANNED_PREFIXES):
        return "imports a web or database framework"
    if top == "__future__" or top in sys.stdlib_module_names:
        return None
    return "imports a package outside the standard library"


MODULES = sorted(DOMAIN.rglob("*.py"))


def test_domain_has_modules() -> None:
    assert len(MODULES) >= 9


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_module_imports_only_stdlib_and_domain(path: Path) -> None:
    problems = [f"{name}: {why}" for name in _imports(path) if (why := _problem(name))]
    assert problems == [], f"{path.name} {problems}"


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("flask", True),
        ("flask_login", True),
        ("sqlalchemy.orm", True),
        ("werkzeug.security", True),
        ("caseload.models", True),
        ("caseload", True),
        ("caseload.domain.codes", False),
        ("dataclasses", False),
        ("numpy", True),
    ],
)
def test_checker_recognises_banned_imports(name: str, bad: bool) -> None:
    assert (_problem(name) is not None) is bad
