"""Fixtures for service tests: the people who use the services."""

from __future__ import annotations

from typing import Any

import pytest

from caseload.domain.codes import Role
from caseload.models import User


@pytest.fixture
def worker(user_factory: Any) -> User:
    """A worker in the North team."""
    return user_factory(Role.WORKER, team="North team")
