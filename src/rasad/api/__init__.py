"""The management HTTP API over the services (FastAPI; ``rasad server`` runs it on uvicorn).

Token authentication, one per-request context acting as the token's principal, routes
under ``/api/v1`` calling the same service functions as the CLI and :class:`rasad.Project`,
and errors as RFC 9457 problem details from one table (:data:`PROBLEMS`). See docs/api.md.
"""

from rasad.api.app import PREFIX, create_app
from rasad.api.limits import MAX_UPLOAD_ENV, max_upload_bytes
from rasad.api.problems import PROBLEMS, Problem, ProblemType

__all__ = ["MAX_UPLOAD_ENV", "PREFIX", "PROBLEMS", "Problem", "ProblemType", "create_app",
           "max_upload_bytes"]
