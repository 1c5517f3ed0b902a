"""``rasad subject find`` and ``rasad subject erase``: data subjects (docs/subjects.md).

Each calls one verb (:meth:`rasad.Project.subject_find`, :meth:`rasad.Project.subject_erase`;
over ``RASAD_URL`` the server's ``POST /subjects/...``) and renders its result. Nothing
printed names the subject beyond the id the user typed: versions, models and request ids
only.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from rasad.cli._context import state
from rasad.cli._output import JsonFlag, clean, emit_json, say, table
from rasad.errors import InputError

if TYPE_CHECKING:
    from rasad.governance.subjects_result import ErasureResult, SubjectFindResult

app = typer.Typer(help="Data subjects: find a person in the data, models and prediction "
                       "log; erase them.", no_args_is_help=True)

SubjectId = Annotated[str, typer.Argument(
    metavar="ID", help="The subject's id, as the subject-id columns hold it.")]
SHOWN_REQUESTS = 5
"""Request ids shown per model in the table (``--json`` has them all, up to 1000)."""


@app.command("find")
def find(ctx: typer.Context, subject_id: SubjectId, as_json: JsonFlag = False) -> None:
    """List the dataset versions, model versions and logged predictions that hold subject
    ID (needs audit.read)."""
    found = state(ctx).project().subject_find(subject_id)
    if as_json:
        emit_json(found)
        return
    _show_found(found)


def _show_found(found: SubjectFindResult) -> None:
    say(found.message)
    if found.versions:
        table("Dataset versions", ["version", "matches", "columns", "latest", "erasure"],
              [[v.dataset, v.matches, ", ".join(v.columns), "yes" if v.latest else "",
                "" if v.erasure_id is None else
                f"#{v.erasure_id} (blob {'removed' if v.blob_removed else 'kept until gc'})"]
               for v in found.versions])
    if found.models:
        table("Model versions trained on them", ["model", "run", "trained on", "serving",
                                                 "retrain by"],
              [[m.model, m.run_id[:12], ", ".join(m.datasets), ", ".join(m.serving),
                (m.retrain_due_at or "")[:10]] for m in found.models])
    if found.predictions:
        table("Logged predictions", ["environment", "model", "versions", "rows", "feedback",
                                     "first", "last", "request ids"],
              [[p.environment, p.model, ", ".join(map(str, p.versions)), p.rows,
                p.feedback_rows, p.first_time[:19], p.last_time[:19],
                ", ".join(p.request_ids[:SHOWN_REQUESTS])
                + (" ..." if len(p.request_ids) > SHOWN_REQUESTS else "")]
               for p in found.predictions])
    if found.erasures:
        say("Erased before by erasure " + ", ".join(f"#{e}" for e in found.erasures) + ".")
    say(f"Subject key (keyed hash, as the ledger names it): {found.subject_key[:16]}...")


@app.command("erase")
def erase(
    ctx: typer.Context,
    subject_id: SubjectId,
    reason: Annotated[str, typer.Option(
        "--reason", help="Why (e.g. 'GDPR Art. 17 request #1234'); kept in the ledger.")],
    yes: Annotated[bool, typer.Option(
        "--yes", help="Do not ask for confirmation (needed when not at a terminal).")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Erase subject ID: write dataset versions without them, redact the prediction log,
    and flag the models trained on them 'retrain required' (needs subject.erase)."""
    if not yes:
        if not sys.stdin.isatty():
            raise InputError("Erasing a subject is not undone: add --yes to confirm.")
        if not typer.confirm("Write new dataset versions without this subject, rewrite the "
                             "prediction log without them and flag their models?"):
            raise InputError("Not confirmed; nothing was erased.")
    result = state(ctx).project().subject_erase(subject_id, reason=reason)
    if as_json:
        emit_json(result)
        return
    _show_erased(result)


def _show_erased(result: ErasureResult) -> None:
    say(clean(result.message))
    if result.versions:
        table(None, ["held the subject", "rows removed", "written without them"],
              [[v.dataset, v.rows, v.replaced_by or "(older version: blob removed by gc "
                "under the retention rule)"] for v in result.versions])
    for flag in result.flagged:
        say(f"{flag.model}: retrain required by {flag.due_at[:10]}.")


__all__ = ["app"]
