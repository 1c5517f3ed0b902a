"""A project on a server: the :class:`rasad.Project` verbs, run through the management API.

:class:`RemoteProject` has the names, signatures and return types of the Project verbs
the API covers; each is one or two requests, and the answer (the result's one JSON form)
is read back into the same typed value the local verb returns. A refusal raises the same
rasad error with the server's message (:mod:`rasad.remote.client`). A Project verb the API
does not cover yet raises :class:`~rasad.errors.InputError` saying so, rather than an
``AttributeError``.

``RASAD_URL`` and ``RASAD_TOKEN`` make the CLI use it; in Python,
``rasad.Project.connect(url, token)`` returns one. See docs/api.md, "Remote mode".
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import httpx

from rasad.datasets import AddResult, DatasetVersion
from rasad.errors import InputError
from rasad.governance.inventory import Inventory
from rasad.identity import (
    CreatedToken,
    Principal,
    PrincipalInfo,
    PrincipalKind,
    Role,
    TokenInfo,
)
from rasad.identity.tokens import DEFAULT_LIFETIME as DEFAULT_TOKEN_LIFETIME
from rasad.ledger import AuditEvent, Problem, ProblemKind, Verification
from rasad.monitoring.results import MonitorResult
from rasad.names import check_name
from rasad.registry import Deployment, ModelDetail, ModelVersion, Registration
from rasad.registry.slots import Slot, parse_slot
from rasad.remote._checks import CheckVerbs
from rasad.remote._data import DataVerbs
from rasad.remote._release import ReleaseVerbs
from rasad.remote._runs import RunVerbs
from rasad.remote._stored import StoredVerbs
from rasad.remote.client import DEFAULT_TIMEOUT, Client, segment
from rasad.training import Run

if TYPE_CHECKING:
    import pandas as pd

    from rasad.compliance.evidence import PackVerification
    from rasad.governance.card_result import ModelCard
    from rasad.governance.datasheet_result import Datasheet
    from rasad.governance.subjects_result import ErasureResult, SubjectFindResult

# A dataset version's row id stays on the server (its JSON leaves it out); 0 is no row,
# since row ids start at 1.
NO_ROW_ID: Final = 0

LOCAL_ONLY: Final = frozenset({
    # What rasad.Project has and the API does not serve. Named here rather than looked up
    # on Project: the facade sits below the doors and this module must not import it.
    # The project's internals (its context, database, artifact store, configuration,
    # clock, sessions and transactions, permission checks) stay on the server by design.
    "artifacts", "clock", "config", "context", "db", "read", "require", "root",
    "transaction",
    # Signing needs the private key where the command runs; the server holds no one's key.
    "checkpoint", "evidence",
    # A monitor result is saved by the check that computed it (`save=True`), not raw.
    "save_monitor_result",
    # A package holds the rasad installed where the command runs (its wheel, its pins).
    "package",
    # The prediction log lives in the project's artifact store: read and purged there.
    "compare_serving", "purge_predictions",
    # The server sends its own OpenLineage events as its changes commit; a replay reads the
    # whole ledger and sends it through the server's lineage transport.
    "lineage_emit",
})
"""The :class:`rasad.Project` attributes a :class:`RemoteProject` refuses with a clear
:class:`~rasad.errors.InputError` (any other unknown name is an ``AttributeError``)."""

_WHY_LOCAL: Final = {
    "checkpoint": "signing needs the private key where the command runs, and the server "
                  "holds no one's key",
    "evidence": "an evidence pack is signed with the ledger checkpoint key where the command "
                "runs, and the server holds no one's key",
    "save_monitor_result": "a check saves its own result (save=True)",
    "package": "a package pins and builds the rasad installed where the command runs; run "
               "`rasad package` on a machine with the project's database",
    "lineage_emit": "the server sends its own OpenLineage events as its changes commit, and "
                    "a replay sends the ledger through the lineage transport of the "
                    "server's rasad.yaml",
}

_UNITS: Final = (("w", timedelta(weeks=1)), ("d", timedelta(days=1)), ("h", timedelta(hours=1)),
                 ("m", timedelta(minutes=1)))


class RemoteProject(DataVerbs, CheckVerbs, ReleaseVerbs, RunVerbs, StoredVerbs):
    """A rasad project served by ``rasad server``, acting as one API token's principal.

    Parameters
    ----------
    url : str
        The server, ``http://HOST:PORT``.
    token : str
        An API token for it (``rasad tokens create NAME``).
    transport : httpx.BaseTransport, optional
        How requests travel (default: the network); tests call the app in-process.
    timeout : httpx.Timeout, optional
        Connect, read and write limits.
    """

    def __init__(self, url: str, token: str, *, transport: httpx.BaseTransport | None = None,
                 timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> None:
        self.client = Client(url, token, transport=transport, timeout=timeout)

    @property
    def url(self) -> str:
        """The API root every request goes to."""
        return self.client.url

    def __repr__(self) -> str:
        return f"RemoteProject({self.client!r})"

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> RemoteProject:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    if not TYPE_CHECKING:
        # Hidden from mypy, so that calling a verb this class lacks stays a type error.
        def __getattr__(self, name: str) -> Any:
            if name in LOCAL_ONLY:
                why = _WHY_LOCAL.get(name, "the project's internals stay on the server")
                raise InputError(
                    f"`{name}` is not available over the server ({self.url}): {why}. Run "
                    "it where the project's database is (unset RASAD_URL and give the "
                    "project folder).")
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # -- identity --------------------------------------------------------------------------

    @property
    def principal(self) -> Principal:
        """Who the token stands for, with its roles in force and how it authenticated."""
        return Principal.from_dict(self.client.get("/whoami"))

    @property
    def actor(self) -> str:
        """The principal's name: recorded on every audit event the server writes for it."""
        return self.principal.name

    def add_principal(self, name: str, *, kind: PrincipalKind | str = "person",
                      roles: Iterable[Role] = ()) -> PrincipalInfo:
        """Add a person or service account (needs ``identity.manage``)."""
        body = {"name": name, "kind": str(PrincipalKind(kind)),
                "roles": [str(role) for role in roles]}
        return PrincipalInfo.from_dict(self.client.post("/users", body))

    def grant(self, name: str, *roles: Role) -> PrincipalInfo:
        body = {"roles": [str(role) for role in roles]}
        return PrincipalInfo.from_dict(self.client.post(f"/users/{segment(name)}/grant", body))

    def revoke_role(self, name: str, *roles: Role) -> PrincipalInfo:
        body = {"roles": [str(role) for role in roles]}
        return PrincipalInfo.from_dict(self.client.post(f"/users/{segment(name)}/revoke",
                                                        body))

    def disable_principal(self, name: str) -> PrincipalInfo:
        return PrincipalInfo.from_dict(self.client.post(f"/users/{segment(name)}/disable"))

    def principals(self) -> list[PrincipalInfo]:
        return [PrincipalInfo.from_dict(item) for item in self.client.get("/users")]

    def create_token(self, name: str, *, roles: Iterable[Role] | None = None,
                     lifetime: timedelta | None = DEFAULT_TOKEN_LIFETIME) -> CreatedToken:
        """A new API token for ``name``: its text is in the result this once."""
        body = {"principal": name,
                "roles": None if roles is None else [str(role) for role in roles],
                "expires": lifetime_text(lifetime)}
        return CreatedToken.from_dict(self.client.post("/tokens", body))

    def revoke_token(self, token_id: str) -> TokenInfo:
        return TokenInfo.from_dict(self.client.post(f"/tokens/{segment(token_id)}/revoke"))

    def tokens(self, name: str | None = None) -> list[TokenInfo]:
        return [TokenInfo.from_dict(item)
                for item in self.client.get("/tokens", {"principal": name})]

    # -- audit -----------------------------------------------------------------------------

    def audit_log(self, subject: str | None = None, action: str | None = None,
                  limit: int | None = None) -> list[AuditEvent]:
        found = self.client.get("/audit/events",
                                {"subject": subject, "action": action, "limit": limit})
        return [_audit_event(item) for item in found]

    def verify_audit(self, *, checkpoints: str | None = None,
                     public_keys: Sequence[str] | None = None,
                     replay: bool = True) -> Verification:
        """Verify the ledger on the server, against the server's own checkpoint store.

        Raises
        ------
        InputError
            If ``checkpoints`` is given: a client cannot point the server elsewhere.
        """
        if checkpoints is not None:
            raise InputError(
                f"Over the server, `audit verify` checks the server's own checkpoint store "
                f"(its audit.checkpoints), not {checkpoints!r}; leave the checkpoint location "
                "out, or verify where that store is reachable.")
        params: dict[str, Any] = {"replay": "true" if replay else "false"}
        if public_keys:
            params["public_key"] = list(public_keys)
        return _verification(self.client.get("/audit/verify", params))

    # -- datasets --------------------------------------------------------------------------

    def add_dataset(self, source: str | os.PathLike[str] | pd.DataFrame, name: str,
                    *, description: str | None = None) -> AddResult:
        """Upload a CSV, TSV or Parquet file (or a frame, sent as Parquet) as a new version."""
        check_name(name)  # here, for the local message: the route would only match a pattern
        path = f"/datasets/{segment(name)}/versions"
        if isinstance(source, (str, os.PathLike)):
            # The version's source names this file as a local `data add` would.
            form = {"description": description, "source": str(Path(source).resolve())}
            added = self.client.upload(path, source, form=form)
        else:
            with tempfile.TemporaryDirectory(prefix="rasad-frame-") as folder:
                staged = Path(folder) / "dataframe.parquet"
                source.to_parquet(staged, index=False)
                form = {"description": description, "source": "pandas.DataFrame"}
                added = self.client.upload(path, staged, form=form)
        # The upload's answer leaves the profile out; the full version is one more read.
        version = self.dataset(added["name"], added["version"])
        return AddResult(version=version, created=bool(added["created"]))

    def datasets(self, name: str | None = None) -> list[DatasetVersion]:
        found = self.client.get("/datasets" if name is None
                                else f"/datasets/{segment(name)}/versions")
        return [_dataset_version(item) for item in found]

    def dataset(self, name: str, version: int | None = None) -> DatasetVersion:
        path = f"/datasets/{segment(name)}"
        if version is not None:
            path += f"/versions/{segment(version)}"
        return _dataset_version(self.client.get(path))

    def datasheet(self, name: str, version: int | None = None) -> Datasheet:
        """The datasheet of ``name@version`` (the latest when ``version`` is None)."""
        from rasad.governance.datasheet_result import Datasheet

        path = f"/datasets/{segment(name)}"
        if version is not None:
            path += f"/versions/{segment(version)}"
        return Datasheet.from_dict(self.client.get(path + "/datasheet"))

    def card(self, name: str, version: int | None = None) -> ModelCard:
        """The model card of ``name@version`` (the latest when ``version`` is None)."""
        from rasad.governance.card_result import ModelCard

        path = f"/models/{segment(name)}"
        if version is not None:
            path += f"/versions/{segment(version)}"
        return ModelCard.from_dict(self.client.get(path + "/card"))

    def subject_find(self, subject_id: str) -> SubjectFindResult:
        """Where a data subject is, found by the server (``POST /subjects/find``: the id
        travels in the body, never in a URL)."""
        from rasad.governance.subjects_result import SubjectFindResult

        return SubjectFindResult.from_dict(self.client.post("/subjects/find",
                                                            {"id": subject_id}))

    def subject_erase(self, subject_id: str, *, reason: str) -> ErasureResult:
        """Erase a data subject on the server (``POST /subjects/erase``)."""
        from rasad.governance.subjects_result import ErasureResult

        return ErasureResult.from_dict(self.client.post(
            "/subjects/erase", {"id": subject_id, "reason": reason}))

    # -- training --------------------------------------------------------------------------

    def runs(self, status: str | None = None) -> list[Run]:
        return [Run.from_dict(item) for item in self.client.get("/runs", {"status": status})]

    def run(self, run_id: str) -> Run:
        return Run.from_dict(self.client.get(f"/runs/{segment(run_id)}"))

    # -- registry --------------------------------------------------------------------------

    def register(self, run_id: str, name: str) -> ModelVersion:
        return self.registration(run_id, name).version

    def registration(self, run_id: str, name: str) -> Registration:
        """Register a finished run's model, saying whether it was a version already."""
        check_name(name, "Model")
        answer = self.client.post(f"/models/{segment(name)}/versions", {"run_id": run_id})
        return Registration.from_dict(answer)

    def models(self) -> list[ModelDetail]:
        return [ModelDetail.from_dict(item) for item in self.client.get("/models")]

    def model(self, name: str) -> ModelDetail:
        return ModelDetail.from_dict(self.client.get(f"/models/{segment(name)}"))

    def model_version(self, name: str, version: int | None = None,
                      env: str | None = None) -> ModelVersion:
        """A version by number, the one serving ``env``, or the latest."""
        if version is not None and env is not None:
            raise InputError("Give either a version or an environment, not both.")
        model = f"/models/{segment(name)}"
        if version is not None:
            return ModelVersion.from_dict(self.client.get(f"{model}/versions/{version}"))
        if env is not None:
            return ModelVersion.from_dict(self.client.get(
                f"{model}/environments/{segment(env)}"))
        return max(self.model(name).versions, key=lambda v: v.version)

    def inventory(self) -> Inventory:
        """The model inventory, read by the server (``GET /inventory``)."""
        return Inventory.from_dict(self.client.get("/inventory"))

    def verify_evidence(self, path: str | os.PathLike[str], *,
                        public_keys: Sequence[str] | None = None) -> PackVerification:
        """Check an evidence pack here, against the keys the server's project trusts
        (``GET /evidence/keys``; ``public_keys`` instead when given)."""
        from rasad.compliance.evidence import TrustedKeys, verify_pack
        from rasad.ledger.keys import load_public_key

        params: dict[str, Any] = {"public_key": list(public_keys)} if public_keys else {}
        trusted = TrustedKeys.from_dict(self.client.get("/evidence/keys", params))
        return verify_pack(path, [load_public_key(v, trusted.source) for v in trusted.keys],
                           trusted.source)

    def rollback(self, name: str, env: str, *, reason: str | None = None,
                 slot: Slot | str = "primary") -> Deployment:
        body = {"env": env, "reason": reason, "slot": str(parse_slot(slot))}
        return Deployment.from_dict(self.client.post(f"/models/{segment(name)}/rollbacks",
                                                     body))

    # -- monitoring ------------------------------------------------------------------------

    def monitor_results(self, monitor: str | None = None, kind: str | None = None
                        ) -> list[MonitorResult]:
        """Saved results (drift, performance, estimation, fairness), oldest first."""
        found = self.client.get("/monitor/results", {"monitor": monitor, "kind": kind})
        return [MonitorResult.from_dict(item) for item in found]

    def monitor_result(self, result_id: int) -> MonitorResult:
        return MonitorResult.from_dict(self.client.get(f"/monitor/results/{int(result_id)}"))

    def monitor_report(self, result_id: int) -> dict[str, Any]:
        """A saved result's full report as stored, checked against its hash on the server."""
        report: dict[str, Any] = self.client.get(f"/monitor/results/{int(result_id)}/report")
        return report


def lifetime_text(lifetime: timedelta | None) -> str:
    """A token lifetime as the API takes it: ``never``, or a whole number of a unit.

    >>> lifetime_text(timedelta(days=90)), lifetime_text(timedelta(hours=36))
    ('90d', '36h')
    >>> lifetime_text(None), lifetime_text(timedelta(weeks=2))
    ('never', '2w')

    Raises
    ------
    InputError
        If the lifetime is not a positive whole number of minutes.
    """
    if lifetime is None:
        return "never"
    if lifetime > timedelta(0):
        for unit, size in _UNITS:
            count, rest = divmod(lifetime, size)
            if not rest and count < 1_000_000:
                return f"{count}{unit}"
    raise InputError(f"Token lifetime {lifetime} cannot be sent to the server: give a "
                     "positive whole number of minutes, hours, days or weeks.")


def _dataset_version(data: dict[str, Any]) -> DatasetVersion:
    return DatasetVersion.from_dict({**data, "id": NO_ROW_ID})


def _audit_event(data: dict[str, Any]) -> AuditEvent:
    return AuditEvent(seq=data["seq"], occurred_at=data["occurred_at"], actor=data["actor"],
                      action=data["action"], subject=data["subject"], details=data["details"],
                      prev_hash=data["prev_hash"], hash=data["hash"])


def _verification(data: dict[str, Any]) -> Verification:
    checkpoints = data["checkpoints"]
    problems = tuple(Problem(kind=ProblemKind(p["kind"]), message=p["message"], seq=p["seq"],
                             checkpoint=p["checkpoint"], row=p["row"])
                     for p in data["problems"])
    return Verification(
        ok=data["ok"], events=data["events"], first_bad_seq=data["first_bad_seq"],
        reason=data["reason"], problems=problems, checkpoints=checkpoints["verified"],
        latest_checkpoint=checkpoints["latest"],
        trusted_keys=tuple(checkpoints["trusted_keys"]), key_source=checkpoints["key_source"],
        state=data["state"], notes=tuple(data["notes"]))


__all__ = ["LOCAL_ONLY", "NO_ROW_ID", "RemoteProject", "lifetime_text"]
