"""What ``rasad package`` wrote: the files with their digests, the models, the pins.

>>> result = PackageResult(
...     environment="production", output="deploy", image="credit-production:3f2a9c1e0b7d",
...     base_image="python:3.11.7-slim-bookworm", port=8080, replicas=2,
...     kubernetes_version="1.30", rasad="rasad==0.1.0",
...     models=[PackagedModel(name="credit", version=3, libraries=["scikit-learn"])],
...     requirements={"scikit-learn": "1.5.2"},
...     files=[PackagedFile(path="Dockerfile", sha256="ab" * 32, bytes=812)],
...     secret="credit-production-secrets", secret_keys=["RASAD_DATABASE_URL"])
>>> result.models[0].ref, result.file("Dockerfile").bytes
('credit@3', 812)
"""

from __future__ import annotations

from pydantic import Field

from rasad.results import Result


class PackagedModel(Result):
    """A model version the packaged server serves, and the libraries it is made of.

    ``slot`` is where it serves: ``primary`` (answers), ``canary`` or ``shadow``.
    """

    name: str
    version: int
    slot: str = "primary"
    libraries: list[str]
    """Distributions its stored types come from (scikit-learn always)."""

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def described(self) -> str:
        """``credit@3``, or ``credit@4 (canary)`` beside the primary."""
        return self.ref if self.slot == "primary" else f"{self.ref} ({self.slot})"


class PackagedFile(Result):
    """One written file: its path inside the output folder, its SHA-256 and size."""

    path: str
    sha256: str
    bytes: int


class PackageResult(Result):
    """The folder ``rasad package`` wrote for one environment.

    ``files`` lists every file with its SHA-256 (also recorded in the ``model.package``
    audit event); ``requirements`` the pinned distributions (rasad itself is ``rasad``, a
    ``rasad==VERSION`` line or the wheel in ``wheels/``); ``secret_keys`` the keys the
    Secret ``secret`` must hold before the manifests are applied (it is never written),
    the automation agent's among them when its manifest is written.
    """

    environment: str
    output: str
    image: str
    base_image: str
    port: int
    replicas: int
    kubernetes_version: str
    rasad: str
    models: list[PackagedModel]
    requirements: dict[str, str]
    files: list[PackagedFile]
    secret: str
    secret_keys: list[str]
    warnings: list[str] = Field(default_factory=list)
    agent: str | None = None
    """How the automation agent runs: ``cronjob``, ``deployment``, or ``None`` (not written)."""
    agent_schedule: str | None = None
    """The CronJob's schedule (cron, UTC)."""
    agent_principal: str | None = None
    """Who the agent acts as (``RASAD_USER``); on a claimed project, a principal to create."""

    def file(self, path: str) -> PackagedFile:
        """The written file at ``path`` (relative to the output folder, ``/``-separated)."""
        for entry in self.files:
            if entry.path == path:
                return entry
        raise KeyError(f"{path!r} was not written; files: "
                       f"{', '.join(f.path for f in self.files)}")


__all__ = ["PackageResult", "PackagedFile", "PackagedModel"]
