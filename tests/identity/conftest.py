from __future__ import annotations

import pytest

from rasad import Project
from rasad.core import Context
from rasad.identity import Principal, local_principal


@pytest.fixture
def ctx(project: Project) -> Context:
    return project.context


@pytest.fixture
def admin(ctx: Context) -> Principal:
    """The project's creator ('tester', conftest's RASAD_USER), an admin on the local project."""
    return local_principal(ctx)
