"""No blueprint imports another: what they share lives in ``caseload.web``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "caseload"

#: Blueprints that exist today; any other package that makes a Blueprint is found too.
KNOWN_BLUEPRINTS = {"auth", "cases", "main", "notes"}


def blueprint_packages() -> set[str]:
    """Every package directly under caseload/ with a module that creates a Blueprint."""
    return {
        path.parent.name
        for path in PACKAGE.glob("*/*.py")
        if "Blueprint(" in path.read_text(encoding="utf-8")
    }


def imported_modules(source: str, path: Path) -> set[str]:
    """The absolute names of what a file at ``path`` imports, relative imports resolved.

    ``from caseload import cases`` counts as importing ``caseload.cases``.
    """
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def cross_imports(area: str, names: set[str]) -> set[str]:
    """The imported names that belong to another blueprint than ``area``."""
    others = {f"caseload.{name}" for name in blueprint_packages() - {area}}
    return {n for n in names if any(n == o or n.startswith(o + ".") for o in others)}


def test_the_known_blueprints_are_found() -> None:
    assert blueprint_packages() >= KNOWN_BLUEPRINTS


@pytest.mark.parametrize("area", sorted(blueprint_packages() | {"web"}))
def test_no_blueprint_imports_another(area: str) -> None:
    offending = {
        f"{path.relative_to(PACKAGE.parent)}: {name}"
        for path in (PACKAGE / area).rglob("*.py")
        for name in cross_imports(area, imported_modules(path.read_text(encoding="utf-8"), path))
    }
    assert offending == set()


def test_every_form_of_a_cross_import_is_seen() -> None:
    source = (
        "from caseload.cases.forms import options\n"
        "from ..cases import pages\n"
        "from caseload import main\n"
        "import caseload.auth.views\n"
        "from . import forms\n"
    )
    names = imported_modules(source, PACKAGE / "notes" / "views.py")
    assert cross_imports("notes", names) == {
        "caseload.cases.forms",
        "caseload.cases.forms.options",
        "caseload.cases",
        "caseload.cases.pages",
        "caseload.main",
        "caseload.auth.views",
    }
