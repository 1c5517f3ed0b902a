"""What ``rasad subject find`` and ``rasad subject erase`` answer, as typed values.

Pure: no store, no project. The service that fills them is
:mod:`rasad.governance.subjects`. None of them holds a subject's id: a subject is named by
its keyed hash (``subject_key``, the HMAC-SHA256 of the id under the project's key), and a
logged prediction by its request id.

>>> found = SubjectFindResult(subject_key="ab" * 32, searched=("loans.customer_id",))
>>> found.found, found.message
(False, 'The subject is in no dataset version (of loans.customer_id), no model and no \
logged prediction.')
>>> flag = RetrainFlag(model="credit", version=2, erasure_id=1,
...                    due_at="2026-02-01T00:00:00.000000Z",
...                    flagged_at="2026-01-02T00:00:00.000000Z", overdue=False)
>>> flag.ref
'credit@2'
"""

from __future__ import annotations

from pydantic import computed_field

from rasad.results import Result


class SubjectVersion(Result):
    """A dataset version holding the subject: how many values of its subject-id columns
    are the subject's (from the id index), and where it stands after erasures.

    ``erasure_id`` is set when an erasure of this subject already superseded the version
    (its blob is kept until ``rasad gc`` may remove it: ``blob_removed``)."""

    dataset: str
    matches: int
    columns: tuple[str, ...]
    latest: bool
    erasure_id: int | None = None
    blob_removed: bool = False


class SubjectModel(Result):
    """A model version whose training run used a version holding the subject."""

    model: str
    run_id: str
    datasets: tuple[str, ...]
    serving: tuple[str, ...] = ()
    retrain_due_at: str | None = None


class SubjectPredictions(Result):
    """The subject's logged predictions of one model in one environment."""

    environment: str
    model: str
    versions: tuple[int, ...]
    rows: int
    feedback_rows: int
    first_time: str
    last_time: str
    request_ids: tuple[str, ...]


class SubjectFindResult(Result):
    """Where a data subject is: dataset versions, models trained on them, logged
    predictions, and the erasures of the subject so far."""

    subject_key: str
    searched: tuple[str, ...]
    versions: tuple[SubjectVersion, ...] = ()
    models: tuple[SubjectModel, ...] = ()
    predictions: tuple[SubjectPredictions, ...] = ()
    erasures: tuple[int, ...] = ()
    indexes_built: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def found(self) -> bool:
        """Whether anything holds the subject (a collected blob does not)."""
        return bool([v for v in self.versions if not v.blob_removed] or self.models
                    or self.predictions)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def message(self) -> str:
        """One line saying what was found."""
        if not self.found:
            where = ", ".join(self.searched) or "no declared column"
            return (f"The subject is in no dataset version (of {where}), no model and no "
                    "logged prediction.")
        held = [v for v in self.versions if not v.blob_removed]
        rows = sum(p.rows for p in self.predictions)
        return (f"The subject is in {len(held)} dataset version(s), {len(self.models)} "
                f"model version(s) were trained on them, and {rows} logged prediction(s) "
                "are about them.")


class ErasedVersion(Result):
    """A dataset version that held the subject: ``replaced_by`` is the version written
    without them (for its dataset's latest version; None for older ones)."""

    dataset: str
    rows: int
    replaced_by: str | None = None


class FlaggedModel(Result):
    """A model version marked 'retrain required' by the erasure."""

    model: str
    due_at: str


class ErasureResult(Result):
    """What an erasure did; ``erased`` is False when nothing held the subject any more (a
    repeated request), and then nothing was recorded."""

    erased: bool
    subject_key: str
    reason: str
    erasure_id: int | None = None
    versions: tuple[ErasedVersion, ...] = ()
    flagged: tuple[FlaggedModel, ...] = ()
    retrain_due_at: str | None = None
    prediction_rows: int = 0
    feedback_rows: int = 0
    segments: int = 0
    previous: tuple[int, ...] = ()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def message(self) -> str:
        """One line saying what changed.

        >>> ErasureResult(erased=False, subject_key="ab" * 32, reason="r",
        ...               previous=(3,)).message
        'Nothing to erase: no current dataset version and no logged prediction holds the \
subject (erased before by erasure #3).'
        """
        if not self.erased:
            before = (f" (erased before by erasure #{', #'.join(map(str, self.previous))})"
                      if self.previous else "")
            return ("Nothing to erase: no current dataset version and no logged prediction "
                    f"holds the subject{before}.")
        written = [v.replaced_by for v in self.versions if v.replaced_by]
        return (f"Erasure #{self.erasure_id}: {len(self.versions)} dataset version(s) held "
                f"the subject; written without them: {', '.join(written) or 'none'}; "
                f"{self.prediction_rows} logged prediction(s) and {self.feedback_rows} "
                f"feedback label(s) removed; {len(self.flagged)} model version(s) flagged "
                f"'retrain required'" + (f" by {self.retrain_due_at[:10]}"
                                         if self.flagged and self.retrain_due_at else "")
                + ".")


class RetrainFlag(Result):
    """An open 'retrain required' flag: a model version trained on data that held an
    erased subject, and the date by which it must be retrained."""

    model: str
    version: int
    erasure_id: int
    due_at: str
    flagged_at: str
    overdue: bool

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"


__all__ = ["ErasedVersion", "ErasureResult", "FlaggedModel", "RetrainFlag",
           "SubjectFindResult", "SubjectModel", "SubjectPredictions", "SubjectVersion"]
