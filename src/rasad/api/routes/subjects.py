"""``/subjects``: find and erase a data subject (``rasad subject``, docs/subjects.md).

Both are POSTs with the id in the body, so a person's id never appears in a URL, an
access log or a proxy's cache.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import StringConstraints

from rasad.api.auth import ContextDep
from rasad.api.bodies import NO_NUL, respond
from rasad.governance import subjects
from rasad.governance.subjects_result import ErasureResult, SubjectFindResult
from rasad.results import Result

router = APIRouter(prefix="/subjects", tags=["governance"])

SubjectId = Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1,
                                             max_length=subjects.MAX_ID_CHARS)]


class FindRequest(Result):
    """The subject's id, as its subject-id column holds it."""

    id: SubjectId


class EraseRequest(Result):
    """The subject's id and why they are erased (kept in the ledger)."""

    id: SubjectId
    reason: Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1,
                                             max_length=subjects.MAX_REASON_CHARS)]


@router.post("/find", response_model=SubjectFindResult)
def find(ctx: ContextDep, body: FindRequest) -> Response:
    """The dataset versions, model versions and logged predictions that hold a subject
    (``audit.read``: auditors, admins). ``rasad subject find``."""
    return respond(subjects.find(ctx, body.id))


@router.post("/erase", response_model=ErasureResult)
def erase(ctx: ContextDep, body: EraseRequest) -> Response:
    """Erase a subject: new dataset versions without them, the prediction log redacted,
    the models trained on them flagged 'retrain required' (``subject.erase``: admins).
    ``rasad subject erase``."""
    return respond(subjects.erase(ctx, body.id, reason=body.reason))


__all__ = ["EraseRequest", "FindRequest", "router"]
