"""Stored bytes over the server: ``load_dataset``, ``load_model``, and ``gc`` of the
server's artifact store.

A download is checked here against the sha256 its version records (read from the
version's JSON) before anything reads it, so bytes damaged on the server or in transit
never become a frame or a model. A model is then loaded with rasad's skops trust policy,
never unpickled: only the types recorded for the version, and only those rasad's own
allow-list trusts. The server's ``registry.trusted_types`` is the server's decision; it
does not decide what code runs on this machine.
"""

from __future__ import annotations

import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rasad.errors import IntegrityError, UntrustedArtifactError
from rasad.remote.client import Client, segment

if TYPE_CHECKING:
    import pandas as pd

    from rasad.datasets import DatasetVersion
    from rasad.maintenance import GcReport
    from rasad.registry import ModelVersion


class StoredVerbs(ABC):
    """The verbs that fetch stored bytes, and gc; mixed into
    :class:`~rasad.remote.project.RemoteProject`, which looks the versions up."""

    client: Client

    @abstractmethod
    def dataset(self, name: str, version: int | None = None) -> DatasetVersion:
        """A dataset version, by number or the latest."""

    @abstractmethod
    def model_version(self, name: str, version: int | None = None,
                      env: str | None = None) -> ModelVersion:
        """A model version by number, the one serving ``env``, or the latest."""

    def load_dataset(self, name: str, version: int | None = None) -> pd.DataFrame:
        """A dataset version's rows, downloaded and checked against its content hash."""
        import pandas as pd

        found = self.dataset(name, version)
        with tempfile.TemporaryDirectory(prefix="rasad-dataset-") as folder:
            path = Path(folder) / "rows.parquet"
            digest = self.client.download(
                f"/datasets/{segment(found.name)}/versions/{found.version}/file", path)
            _check(digest, found.content_hash, found.ref)
            return pd.read_parquet(path)

    def load_model(self, name: str, version: int | None = None, env: str | None = None) -> Any:
        """A model version's pipeline: downloaded, checked against the version's blob
        hash, then loaded with rasad's trust policy (only the version's recorded types,
        and only those on rasad's allow-list).

        Raises
        ------
        IntegrityError
            If the bytes received are not the ones the version records.
        UntrustedArtifactError
            If the model holds a type outside rasad's allow-list (one the server's
            ``registry.trusted_types`` allows included).
        """
        from rasad.artifacts.skops import decide, load_model, untrusted_types

        found = self.model_version(name, version, env)
        ref = f"{found.name}@{found.version}"
        with tempfile.TemporaryDirectory(prefix="rasad-model-") as folder:
            path = Path(folder) / "model.skops"
            digest = self.client.download(
                f"/models/{segment(found.name)}/versions/{found.version}/file", path)
            _check(digest, found.blob, ref)
            data = path.read_bytes()
        try:
            return load_model(data, trusted=found.trusted_types, user_trusted=())
        except UntrustedArtifactError:
            refused = decide(untrusted_types(data)).refused
            if not refused or not set(refused) <= set(found.trusted_types):
                raise
            raise UntrustedArtifactError(
                f"Model {ref} holds types outside rasad's allow-list: "
                f"{', '.join(map(repr, refused))}. The server's project trusts them (its "
                "registry.trusted_types), but that is the server's decision and does not "
                "decide what code runs on this machine, so a model loaded over the server "
                "is held to rasad's allow-list alone. Load it where the project is (unset "
                "RASAD_URL and give the project folder), after reviewing those types."
            ) from None

    def gc(self, *, dry_run: bool = True, min_age_s: float = 3600.0) -> GcReport:
        """List (and unless ``dry_run``, delete) the server's unreferenced blobs and stale
        temporary files; needs ``project.maintain`` (admins)."""
        from rasad.maintenance import GcReport

        report = self.client.post("/maintenance/gc", {"dry_run": dry_run,
                                                      "min_age_s": min_age_s})
        return GcReport.from_dict(report)


def _check(digest: str, recorded: str, ref: str) -> None:
    if digest != recorded:
        raise IntegrityError(
            f"The file the server sent for {ref} has sha256 {digest[:12]}, not the "
            f"{recorded[:12]} the version records; nothing was loaded. The server's copy is "
            "damaged or was changed on the way: ask its operator to run `rasad audit "
            "verify` there.")


__all__ = ["StoredVerbs"]
