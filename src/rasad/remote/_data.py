"""The data verbs of a :class:`~rasad.remote.RemoteProject`: schemas, validation, quality,
personal data, training, run comparison and batch scoring, through the management API.

Each verb has the signature and result type of the :class:`rasad.Project` verb of the
same name. A client path is read here, on the client, and its content sent: the server
never reads a client's files. :meth:`DataVerbs.predict` writes the scored file it gets
back under the same rules as a local run (checked against the inputs before anything is
sent, written whole or not at all: :mod:`rasad._files`).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import httpx

from rasad._files import check_outputs, write_atomic
from rasad.errors import InputError, RasadError
from rasad.names import parse_ref
from rasad.registry import ModelVersion
from rasad.remote.client import Client, ServerUnreachable, segment
from rasad.training import Run
from rasad.training.run import RunComparison

if TYPE_CHECKING:
    import pandas as pd

    from rasad.serving.batch import BatchResult
    from rasad.training.progress import Progress
    from rasad.training.train import TrainResult
    from rasad.validation.pii import PIIReport
    from rasad.validation.quality import QualityReport
    from rasad.validation.service import StoredSchema, StoredValidation
    from rasad.validation.validate import ValidationReport

# The result types are imported where they are used: rasad.remote (and with it every CLI
# command run against a server) should not load the validation and training engines
# (pandera, skops) until a verb needs them.

RESULT_HEADER: Final = "Rasad-Result"
"""Where the server puts a scoring's summary (``rasad.api.routes.training``)."""


class DataVerbs:
    """The data, training and scoring verbs; mixed into :class:`RemoteProject`."""

    client: Client

    # -- schemas and validation ------------------------------------------------------------

    def infer_schema(self, dataset: str, *, tolerance: float = 0.1) -> StoredSchema:
        """Infer the schema of ``NAME[@VERSION]`` and store it as the name's next version."""
        from rasad.validation.service import StoredSchema

        name, version = parse_ref(dataset)
        answer = self.client.post(f"/schemas/{segment(name)}/inferences",
                                  {"version": version, "tolerance": tolerance})
        return StoredSchema.from_dict(answer)

    def save_schema(self, dataset: str, path: str | os.PathLike[str]) -> StoredSchema:
        """Upload an edited schema file as the dataset's next schema version."""
        from rasad.validation.service import StoredSchema

        source = Path(path)
        if not source.is_file():
            raise InputError(f"Cannot read schema file '{path}' (no such file); check the "
                             "path.")
        # Labelled with the path as given, as a local `schema save` labels it.
        return StoredSchema.from_dict(self.client.upload(
            f"/schemas/{segment(dataset)}", source, form={"schema_name": os.fspath(path)}))

    def schema(self, dataset: str, version: int | None = None) -> StoredSchema:
        """The schema in force for ``dataset`` (declared in rasad.yaml, else the latest)."""
        from rasad.validation.service import StoredSchema

        return StoredSchema.from_dict(self.client.get(f"/schemas/{segment(dataset)}",
                                                      {"version": version}))

    def validate(self, dataset: str, *,
                 schema: str | os.PathLike[str] | None = None) -> ValidationReport:
        """Validate ``NAME[@VERSION]`` on the server, against its schema or the schema file
        ``schema`` (read here, sent as text). The report comes back masked, as stored."""
        from rasad.validation.validate import ValidationReport

        body: dict[str, Any] = {"dataset": dataset}
        if schema is not None:
            body["schema_yaml"] = _read_text(Path(schema))
            body["schema_name"] = os.fspath(schema)
        return ValidationReport.from_dict(self.client.post("/validations", body))

    def validations(self, dataset: str | None = None) -> list[StoredValidation]:
        from rasad.validation.service import StoredValidation

        return [StoredValidation.from_dict(item)
                for item in self.client.get("/validations", {"dataset": dataset})]

    def quality(self, dataset: str, *, target: str | None = None) -> QualityReport:
        from rasad.validation.quality import QualityReport

        answer = self.client.post("/quality", {"dataset": dataset, "target": target})
        return QualityReport.from_dict(answer)

    def scan_pii(self, dataset: str, *, protected_attributes: Sequence[str] | None = None,
                 all_rows: bool = False) -> PIIReport:
        from rasad.validation.pii import PIIReport

        body = {"dataset": dataset, "all_rows": all_rows,
                "protected_attributes": (None if protected_attributes is None
                                         else list(protected_attributes))}
        return PIIReport.from_dict(self.client.post("/pii-scans", body))

    # -- training --------------------------------------------------------------------------

    def train(self, *, name: str | None = None, progress: Progress | None = None,
              **overrides: Any) -> TrainResult:
        """Train on the server with these overrides of its ``rasad.yaml``.

        ``progress`` is accepted for the local signature and not used: the server answers
        once the run has finished.
        """
        from rasad.config import TrainingConfig
        from rasad.training.train import TrainResult, resolve_config

        # An unknown option is refused here with the local message, before any request.
        resolve_config(TrainingConfig.model_validate({}), **overrides)
        answer = self.client.post("/runs", {**overrides, "name": name})
        version = answer["model_version"]
        return TrainResult(run=Run.from_dict(answer["run"]),
                           model_version=None if version is None
                           else ModelVersion.from_dict(version))

    def compare_runs(self, *run_ids: str) -> RunComparison:
        if len(run_ids) < 2:
            raise InputError("Give at least two run ids to compare.")
        answer = self.client.get("/run-comparisons", {"run_id": list(run_ids)})
        runs = [Run.from_dict(self.client.get(f"/runs/{segment(run_id)}"))
                for run_id in answer["runs"]]
        return RunComparison(runs,
                             answer["params"], answer["metrics"], answer["differing_params"])

    # -- scoring ---------------------------------------------------------------------------

    def predict(self, name: str, data: str | os.PathLike[str] | pd.DataFrame, *,
                version: int | None = None, env: str | None = None,
                output: str | os.PathLike[str] | None = None,
                strict_categories: bool = False, explain: bool = False) -> BatchResult:
        """Score a file (or a frame, sent as Parquet) on the server (``explain``: with
        each row's reason codes, computed there).

        The scored rows come back; with ``output`` they are written there (CSV or Parquet
        by its suffix), and they are the result's :attr:`~BatchResult.frame` either way.
        """
        import pandas as pd

        from rasad.serving.batch import OUTPUT_SUFFIXES, BatchResult

        out_path = Path(output) if output is not None else None
        if out_path is not None and out_path.suffix.lower() not in OUTPUT_SUFFIXES:
            raise InputError(f"Output {out_path} must end in {', '.join(OUTPUT_SUFFIXES)}.")
        if out_path is not None and out_path.is_dir():
            raise InputError(f"Output {out_path} is a folder; give a file name such as "
                             f"{out_path / 'scores.csv'}.")
        source = [] if isinstance(data, pd.DataFrame) else [data]
        check_outputs([out_path], source)  # before anything is sent
        if isinstance(data, pd.DataFrame) and len(data) == 0:  # the local verb's words
            raise InputError("The input DataFrame has no rows; there is nothing to score.")
        kind = "csv" if out_path is not None and out_path.suffix.lower() == ".csv" \
            else "parquet"
        # The audit event names the files as a local run would, marked as the client's.
        form = {"version": None if version is None else str(version), "env": env,
                "strict_categories": "true" if strict_categories else "false",
                "explain": "true" if explain else "false",
                "format": kind,
                "input_name": "pandas.DataFrame" if isinstance(data, pd.DataFrame)
                else str(Path(data).resolve()),
                "output_name": None if out_path is None else str(out_path.resolve())}
        with tempfile.TemporaryDirectory(prefix="rasad-predict-") as folder:
            staged = Path(folder) / f"scores.{kind}"
            with _input_file(data, Path(folder)) as upload:
                summary = _download(self.client, f"/models/{segment(name)}/predictions",
                                    upload, form, staged)
            frame = pd.read_csv(staged) if kind == "csv" else pd.read_parquet(staged)
            if out_path is not None:
                write_atomic(out_path, lambda tmp: tmp.write_bytes(staged.read_bytes()),
                             inputs=source)
        return BatchResult.with_frame(frame, model=summary.model, version=summary.version,
                                      output=str(out_path) if out_path else None,
                                      warnings=summary.warnings,
                                      explained_with=summary.explained_with)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"Cannot read schema file '{path}' ({type(error).__name__}); check "
                         "the path.") from None


@contextmanager
def _input_file(data: str | os.PathLike[str] | pd.DataFrame, folder: Path) -> Iterator[Path]:
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.is_file():
            raise InputError(f"Cannot read {os.fspath(data)!r}: no such file; check the path.")
        yield path
        return
    staged = folder / "input.parquet"
    data.to_parquet(staged, index=False)
    yield staged


def _download(client: Client, path: str, file: Path, form: dict[str, str | None],
              target: Path) -> BatchResult:
    """POST ``file`` and stream the answer's body into ``target``; the summary header read.

    The client's JSON requests cannot carry a file back; this one request is sent on its
    connection, and a refusal becomes the same rasad error as any other.
    """
    http: httpx.Client = client._http  # noqa: SLF001 - the one connection and its token
    data = {k: v for k, v in form.items() if v is not None}
    try:
        with file.open("rb") as handle, http.stream(
                "POST", path, files={"file": (file.name, handle, "application/octet-stream")},
                data=data, headers={"Accept": "*/*"}) as response:
            if not response.is_success:
                response.read()
                raise client._refusal(response)  # noqa: SLF001
            with target.open("wb") as out:
                for chunk in response.iter_bytes(1 << 20):
                    out.write(chunk)
            header = response.headers.get(RESULT_HEADER)
    except httpx.TimeoutException as exc:
        raise ServerUnreachable(f"The server at {client.url} did not answer in time "
                                f"({type(exc).__name__}). Try again, or check that `rasad "
                                "server` runs there.") from None
    except httpx.TransportError as exc:
        raise ServerUnreachable(f"Cannot reach the server at {client.url}: {exc}. Check "
                                "RASAD_URL and that `rasad server` runs there.") from None
    if header is None:
        raise RasadError(f"The server at {client.url} sent scores without their {RESULT_HEADER} "
                         "header; is RASAD_URL a rasad server of this version?")
    from rasad.serving.batch import BatchResult

    return BatchResult.from_dict(json.loads(header))


__all__ = ["RESULT_HEADER", "DataVerbs"]
