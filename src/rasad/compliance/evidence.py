"""Evidence packs: what rasad holds for each control of a framework, in one signed folder.

:func:`create` gathers, for the models in scope (one, or every registered model) and a
period, every kind of evidence rasad holds (:class:`~rasad.compliance.controls.EvidenceKind`):

- ``ledger/events.jsonl``: the audit events of the period, and ``ledger/verification.json``,
  the verification of the whole chain, its signed checkpoints and the state tables;
- ``ledger/checkpoints/``: the signed checkpoints of ``audit.checkpoints``;
- ``access/``: principals and their roles, tokens (ids, owners, scopes and expiry; a token's
  secret is stored hashed and never leaves the database) and the role table;
- ``inventory.json``: the model inventory;
- ``models/NAME/``: promotion requests with their gate reports and approvals, the
  deployment history, stored fairness assessments (their summaries) and the model card of
  the latest version;
- ``datasets/NAME@V/``: the datasheet of every training dataset version of those models
  (kinds and shares of personal data, never values), and ``pii/NAME@V.json`` its scan;
- ``validation/validations.json``: data validations recorded against those datasets;
- ``monitoring/``: drift, performance and estimated-performance results, and alerts.

Then it maps them to the framework's catalogue (:mod:`rasad.compliance.controls`): a
control is *evidenced* when the pack holds every kind of evidence the catalogue names for
it and the catalogue says nothing it needs lies beyond rasad; *partly evidenced* when some
is held (``missing`` names each kind absent and why, ``beyond`` what must come from
elsewhere); *no evidence yet* when rasad could hold its evidence but holds none; *not
evidenced by rasad* when nothing rasad records can serve it. Every row cites the control's
ID and title.

``manifest.json`` lists every other file with its sha256 and size, the ledger head (sequence
number and hash) at generation, the period and the scope; it is signed with Ed25519 by the
ledger checkpoint key (the key ``rasad audit checkpoint`` uses: ``--key``,
``RASAD_CHECKPOINT_KEY_FILE`` or ``RASAD_CHECKPOINT_KEY``). :func:`verify` checks every
file's hash, that no file was added, and the signature under a trusted key
(``audit.public_keys``). ``index.html`` is for reading.

The pack is written to a temporary sibling folder and moved into place: on any error no
partial pack is left, and a non-empty target folder is refused unless ``force``. The export
itself is recorded in the ledger (``evidence.pack``, with the manifest's sha256). Creating a
pack needs ``audit.read``.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import os
import shutil
import uuid
from base64 import b64decode, b64encode
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, time
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Final

from cryptography.exceptions import InvalidSignature
from pydantic import computed_field
from sqlalchemy import select

from rasad.compliance.controls import Catalogue, Control, EvidenceKind, load_catalogue
from rasad.errors import ConflictError, InputError
from rasad.identity import Permission
from rasad.ledger import AuditEvent, canonical_json
from rasad.results import Result

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    from rasad.core import Context
    from rasad.registry import ModelDetail

FORMAT: Final = "rasad.evidence/1"
MANIFEST: Final = "manifest.json"
ACTION: Final = "evidence.pack"
"""The audit action recording that a pack was issued."""

_MONITOR_KINDS: Final = ("drift", "performance", "estimation", "validation")
_ALERT_LIMIT: Final = 100_000


class ControlStatus(StrEnum):
    """How far a pack evidences one control."""

    EVIDENCED = "evidenced"
    """The pack holds every kind of evidence the catalogue names, and nothing lies beyond."""
    PARTLY = "partly_evidenced"
    """Some evidence is held; ``missing`` and ``beyond`` say what is not."""
    NO_EVIDENCE = "no_evidence"
    """rasad can evidence it but holds none of that evidence yet."""
    OUTSIDE = "outside_rasad"
    """Nothing rasad records can evidence it; ``beyond`` says why."""

    @property
    def label(self) -> str:
        """The status in words."""
        return _LABELS[self]


_LABELS: Final = {ControlStatus.EVIDENCED: "evidenced",
                  ControlStatus.PARTLY: "partly evidenced",
                  ControlStatus.NO_EVIDENCE: "no evidence yet",
                  ControlStatus.OUTSIDE: "not evidenced by rasad"}


class Gap(Result):
    """A kind of evidence a control needs that the pack does not hold, and why."""

    kind: EvidenceKind
    reason: str


class ControlRow(Result):
    """One control of the framework, its citation, status and the files evidencing it."""

    id: str
    title: str
    verification: str
    expects: str
    status: ControlStatus
    evidence: tuple[EvidenceKind, ...]
    files: tuple[str, ...]
    missing: tuple[Gap, ...]
    beyond: str | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status_label(self) -> str:
        """The status in words."""
        return self.status.label


class PackFile(Result):
    """One file of the pack: its path inside the folder, sha256 and size in bytes."""

    path: str
    sha256: str
    size: int
    kind: EvidenceKind | None = None


class LedgerHead(Result):
    """The ledger's last event when the pack was generated."""

    seq: int
    hash: str


class EvidencePack(Result):
    """An evidence pack as written: scope, controls with their status, and its files."""

    framework: str
    framework_name: str
    source: str
    citation: str | None
    project: str
    model: str | None
    since: str | None
    until: str | None
    generated_at: str
    generated_by: str
    head: LedgerHead
    key_fingerprint: str
    controls: tuple[ControlRow, ...]
    files: tuple[PackFile, ...]
    path: str = ""
    manifest_sha256: str = ""

    def count(self, status: ControlStatus) -> int:
        """How many controls have ``status``."""
        return sum(1 for c in self.controls if c.status == status)


class PackVerification(Result):
    """What :func:`verify` found: ``ok`` when every file matches and the signature holds."""

    ok: bool
    path: str
    files: int
    problems: tuple[str, ...]
    key_fingerprint: str | None
    trusted_keys: tuple[str, ...]
    key_source: str
    framework: str | None
    head: LedgerHead | None


# -- the period --------------------------------------------------------------------------


def _moment(text: str | None, option: str, *, end: bool) -> str | None:
    """``text`` (a date or an ISO time) as stored event times are written; a date alone
    is its first (``since``) or last (``until``) microsecond."""
    if text is None:
        return None
    try:
        if len(text.strip()) == 10:
            day = datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
            moment = datetime.combine(day.date(), time.max if end else time.min, UTC)
        else:
            moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None \
                else moment.astimezone(UTC)
    except ValueError:
        raise InputError(f"{option} {text!r} is not a date or time: give YYYY-MM-DD or an "
                         "ISO time such as 2026-01-31T18:00:00Z.") from None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Period:
    def __init__(self, since: str | None, until: str | None) -> None:
        self.since = _moment(since, "--since", end=False)
        self.until = _moment(until, "--until", end=True)
        if self.since and self.until and self.since > self.until:
            raise InputError(f"--since {since} is after --until {until}: the period is empty.")

    def holds(self, at: str | None) -> bool:
        if at is None:
            return True
        return (self.since is None or at >= self.since) and (self.until is None
                                                             or at <= self.until)


# -- writing the folder --------------------------------------------------------------------


class _Pack:
    """The temporary folder being filled, with what each kind of evidence produced."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: list[PackFile] = []
        self.held: dict[EvidenceKind, list[str]] = {}
        self.absent: dict[EvidenceKind, str] = {}

    def write(self, path: str, data: bytes, kind: EvidenceKind | None) -> str:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self.files.append(PackFile(path=path, sha256=hashlib.sha256(data).hexdigest(),
                                   size=len(data), kind=kind))
        return path

    def json(self, path: str, value: Any, kind: EvidenceKind | None) -> str:
        return self.write(path, (json.dumps(value, indent=1, ensure_ascii=False,
                                            default=str) + "\n").encode(), kind)

    def text(self, path: str, text: str, kind: EvidenceKind | None) -> str:
        return self.write(path, text.encode(), kind)

    def hold(self, kind: EvidenceKind, paths: Sequence[str], absent: str | None) -> None:
        """Record ``paths`` as evidence of ``kind``, or (``absent`` given) why it is not."""
        if absent is None:
            self.held.setdefault(kind, []).extend(paths)
        else:
            self.absent.setdefault(kind, absent)


def _safe_name(text: str) -> str:
    """A file-name segment for a model or dataset name (names are already checked)."""
    return "".join(ch if ch.isalnum() or ch in "-_.@" else "_" for ch in text)


# -- the evidence ---------------------------------------------------------------------------


def _ledger(ctx: Context, pack: _Pack, period: _Period) -> LedgerHead:
    from rasad import audit
    from rasad.ledger.chain import read_head
    from rasad.store._tables import AuditEventRow

    query = select(AuditEventRow).order_by(AuditEventRow.seq)
    if period.since:
        query = query.where(AuditEventRow.occurred_at >= period.since)
    if period.until:
        query = query.where(AuditEventRow.occurred_at <= period.until)
    with ctx.read() as session:
        head = read_head(session)
        found = LedgerHead(seq=head.seq, hash=head.hash)
        lines = [canonical_json(AuditEvent.from_row(row).to_dict())
                 for row in session.execute(query.where(AuditEventRow.seq <= found.seq))
                 .scalars()]
    events = pack.text("ledger/events.jsonl", "".join(line + "\n" for line in lines),
                       EvidenceKind.LEDGER)
    result = audit.verify(ctx)
    verification = pack.json("ledger/verification.json", result.to_dict(), EvidenceKind.LEDGER)
    broken = None if result.ok else f"the ledger does not verify: {result.reason}"
    pack.hold(EvidenceKind.LEDGER, [events, verification],
              broken or (None if lines else "no audit event falls in the period"))
    _checkpoints(ctx, pack, result.ok, result.reason)
    return found


def _checkpoints(ctx: Context, pack: _Pack, verified: bool, reason: str | None) -> None:
    from rasad.ledger.checkpoint import CheckpointFileError, CheckpointStore

    url = ctx.config.audit.checkpoints
    if not url:
        pack.hold(EvidenceKind.CHECKPOINTS, [], "no checkpoint store is configured: set "
                  "audit.checkpoints in rasad.yaml and run `rasad audit checkpoint`")
        return
    paths = []
    for stored in CheckpointStore(url).all():
        if isinstance(stored, CheckpointFileError):
            continue  # the verification already names it
        paths.append(pack.write(f"ledger/checkpoints/{stored.seq:012d}.json",
                                stored.to_bytes(), EvidenceKind.CHECKPOINTS))
    absent = None
    if not paths:
        absent = "no signed checkpoint yet: run `rasad audit checkpoint`"
    elif not verified:
        absent = f"the ledger does not reproduce its signed checkpoints: {reason}"
    pack.hold(EvidenceKind.CHECKPOINTS, paths, absent)


def _access(ctx: Context, pack: _Pack) -> None:
    from rasad.identity import ROLE_PERMISSIONS
    from rasad.identity import service as identity

    principals = identity.list_principals(ctx)
    tokens = identity.list_tokens(ctx)
    paths = [
        pack.json("access/principals.json", [p.to_dict() for p in principals],
                  EvidenceKind.ACCESS_REVIEW),
        pack.json("access/tokens.json", [t.to_dict() for t in tokens],
                  EvidenceKind.ACCESS_REVIEW),
        pack.json("access/roles.json", {str(role): sorted(str(p) for p in granted)
                                        for role, granted in ROLE_PERMISSIONS.items()},
                  EvidenceKind.ACCESS_REVIEW)]
    pack.hold(EvidenceKind.ACCESS_REVIEW, paths, None if principals else (
        "the project has no principals: it is unclaimed, so whoever opens it acts as admin "
        "(add people with `rasad users add NAME --role ROLE`)"))


def _models(ctx: Context, model: str | None) -> list[ModelDetail]:
    from rasad.registry import models as registry

    if model is not None:
        return [registry.detail(ctx, model)]
    return registry.list_models(ctx)


def _inventory(ctx: Context, pack: _Pack, names: set[str], model: str | None
               ) -> dict[str, list[str]]:
    from rasad.automation.inventory import inventory

    found = inventory(ctx)
    if model is not None:
        found = found.model_copy(update={"models": [e for e in found.models
                                                    if e.model == model]})
    path = pack.json("inventory.json", found.to_dict(), EvidenceKind.INVENTORY)
    pack.hold(EvidenceKind.INVENTORY, [path], None if found.models else
              "no model is registered (`rasad models register`)")
    return {e.model: list(e.monitors) for e in found.models if e.model in names}


def _releases(ctx: Context, pack: _Pack, detail: ModelDetail, period: _Period) -> None:
    from rasad.registry import models as registry
    from rasad.release import service as release

    folder = f"models/{_safe_name(detail.name)}"
    requests = [r for r in release.list_requests(ctx, model=detail.name)
                if period.holds(r.opened_at)]
    path = pack.json(f"{folder}/requests.json", [r.to_dict() for r in requests], None)
    decided = [r for r in requests if r.approvals or r.reviewed is not None]
    pack.hold(EvidenceKind.GATE_REPORTS, [path], None if requests else
              f"no promotion request of {detail.name} in the period")
    pack.hold(EvidenceKind.APPROVALS, [path], None if decided else
              f"no approval or rejection recorded on {detail.name}'s promotion requests in "
              "the period")
    deployments = [d for d in registry.history(ctx, detail.name)
                   if period.holds(d.deployed_at)]
    path = pack.json(f"{folder}/deployments.json", [d.to_dict() for d in deployments],
                     EvidenceKind.DEPLOYMENTS)
    pack.hold(EvidenceKind.DEPLOYMENTS, [path], None if deployments else
              f"{detail.name} was not deployed in the period")


def _fairness(ctx: Context, pack: _Pack, details: list[ModelDetail], period: _Period) -> None:
    from rasad.governance.fairness.service import list_assessments

    names = {d.name for d in details}
    found = [r for r in list_assessments(ctx)
             if r.reference.rpartition("@")[0] in names and period.holds(r.created_at)]
    for name in sorted(names):
        mine = [r.to_dict() for r in found if r.reference.rpartition("@")[0] == name]
        if mine:
            pack.hold(EvidenceKind.FAIRNESS, [pack.json(
                f"models/{_safe_name(name)}/fairness.json", mine, EvidenceKind.FAIRNESS)], None)
    if not found:
        pack.hold(EvidenceKind.FAIRNESS, [], "no fairness assessment stored in the period "
                  "(`rasad fairness MODEL DATASET`)")


def _training_data(details: list[ModelDetail]) -> list[str]:
    refs: dict[str, None] = {}
    for detail in details:
        for version in detail.versions:
            for used in version.datasets:
                if used.get("role") == "train" and isinstance(used.get("dataset"), str):
                    refs[used["dataset"]] = None
    return sorted(refs)


def _datasheets(ctx: Context, pack: _Pack, refs: list[str]) -> None:
    from rasad.governance.datasheet import datasheet
    from rasad.names import parse_ref
    from rasad.reports.datasheet import render_datasheet

    sheets, scans = [], []
    for ref in refs:
        name, version = parse_ref(ref)
        sheet = datasheet(ctx, name, version)
        folder = f"datasets/{_safe_name(sheet.dataset)}"
        sheets += [pack.text(f"{folder}/datasheet.md", sheet.to_markdown(),
                             EvidenceKind.DATASHEET),
                   pack.text(f"{folder}/datasheet.html", render_datasheet(sheet),
                             EvidenceKind.DATASHEET),
                   pack.text(f"{folder}/datasheet.json", sheet.to_json(indent=1) + "\n",
                             EvidenceKind.DATASHEET)]
        scans.append(pack.text(f"pii/{_safe_name(sheet.dataset)}.json",
                               sheet.pii.to_json(indent=1) + "\n", EvidenceKind.PII_SCAN))
    none = "no training dataset of the models in scope (register a model trained on one)"
    pack.hold(EvidenceKind.DATASHEET, sheets, None if sheets else none)
    pack.hold(EvidenceKind.PII_SCAN, scans, None if scans else none)


def _validations(ctx: Context, pack: _Pack, refs: list[str], period: _Period) -> None:
    from rasad.validation import service as validation

    wanted = set(refs)
    found = [v.to_dict() for v in validation.validations(ctx)
             if v.dataset in wanted and period.holds(v.created_at)]
    path = pack.json("validation/validations.json", found, EvidenceKind.VALIDATION)
    pack.hold(EvidenceKind.VALIDATION, [path], None if found else
              "no validation recorded in the period against the training datasets "
              "(`rasad validate NAME@VERSION`)")


def _erasures(ctx: Context, pack: _Pack, period: _Period) -> None:
    from rasad import audit
    from rasad.governance.subjects import ERASE_ACTION, retrain_flags

    erased = [e for e in audit.log(ctx, action=ERASE_ACTION, limit=None)
              if period.holds(e.occurred_at)]
    path = pack.json("erasures/erasures.json", {
        "erasures": [e.to_dict() for e in erased],
        "open_retrain_flags": [f.to_dict() for f in retrain_flags(ctx)],
        "retention": {"retrain_within_days": ctx.config.governance.erasure.retrain_within_days,
                      "keep_days": ctx.config.governance.erasure.keep_days},
    }, EvidenceKind.ERASURES)
    pack.hold(EvidenceKind.ERASURES, [path], None if erased else
              "no data-subject erasure recorded in the period (`rasad subject erase`)")


def _monitoring(ctx: Context, pack: _Pack, monitors: dict[str, list[str]],
                scoped: bool, period: _Period) -> None:
    from rasad.automation.alerts import alerts
    from rasad.monitoring.results import list_results

    wanted = {m for names in monitors.values() for m in names}
    results = [r for r in list_results(ctx) if r.kind in _MONITOR_KINDS
               and (not scoped or r.monitor in wanted) and period.holds(r.created_at)]
    raised = [a for a in alerts(ctx, limit=_ALERT_LIMIT)
              if (not scoped or a.monitor in wanted) and period.holds(a.created_at)]
    paths = [pack.json("monitoring/results.json", [r.to_dict() for r in results],
                       EvidenceKind.MONITORING),
             pack.json("monitoring/alerts.json", [a.to_dict() for a in reversed(raised)],
                       EvidenceKind.MONITORING)]
    pack.hold(EvidenceKind.MONITORING, paths, None if results else
              "no drift, performance or estimation result saved in the period "
              "(configure automation.monitors, or `rasad monitor ...`)")


def _cards(ctx: Context, pack: _Pack, details: list[ModelDetail]) -> None:
    from rasad.compliance.card import model_card
    from rasad.reports.card import render_card

    paths = []
    for detail in details:
        card = model_card(ctx, detail.name)
        folder = f"models/{_safe_name(detail.name)}"
        paths += [pack.text(f"{folder}/card.md", card.to_markdown(), EvidenceKind.MODEL_CARD),
                  pack.text(f"{folder}/card.html", render_card(card), EvidenceKind.MODEL_CARD),
                  pack.json(f"{folder}/card.json", card.model_dump(mode="json"),
                            EvidenceKind.MODEL_CARD)]
    pack.hold(EvidenceKind.MODEL_CARD, paths, None if paths else
              "no model is registered, so there is no model card")


# -- statuses --------------------------------------------------------------------------------


def control_row(control: Control, held: Mapping[EvidenceKind, Sequence[str]],
                absent: Mapping[EvidenceKind, str]) -> ControlRow:
    """The status of ``control`` given the evidence ``held`` (kind -> files) and the reason
    each ``absent`` kind is missing.

    >>> from rasad.compliance.controls import load_catalogue
    >>> change = load_catalogue("sama-csf").control("3.3.7")
    >>> row = control_row(change, {EvidenceKind.GATE_REPORTS: ["r.json"],
    ...                            EvidenceKind.DEPLOYMENTS: ["d.json"]},
    ...                   {EvidenceKind.APPROVALS: "no approval recorded"})
    >>> row.status.label, [(g.kind.value, g.reason) for g in row.missing]
    ('partly evidenced', [('approvals', 'no approval recorded')])
    """
    have = [k for k in control.evidence if held.get(k)]
    missing = tuple(Gap(kind=k, reason=absent.get(k, "not gathered"))
                    for k in control.evidence if not held.get(k))
    if not control.evidence:
        status = ControlStatus.OUTSIDE
    elif not have:
        status = ControlStatus.NO_EVIDENCE
    elif missing or control.beyond:
        status = ControlStatus.PARTLY
    else:
        status = ControlStatus.EVIDENCED
    files = tuple(dict.fromkeys(p for k in have for p in held[k]))
    return ControlRow(id=control.id, title=control.title, verification=control.verification,
                      expects=control.expects, status=status, evidence=control.evidence,
                      files=files, missing=missing, beyond=control.beyond)


# -- signing and the manifest ---------------------------------------------------------------


def _payload(pack: EvidencePack) -> dict[str, Any]:
    return {"format": FORMAT, "framework": pack.framework, "project": pack.project,
            "model": pack.model, "period": {"since": pack.since, "until": pack.until},
            "generated_at": pack.generated_at, "generated_by": pack.generated_by,
            "ledger_head": {"seq": pack.head.seq, "hash": pack.head.hash},
            "key": pack.key_fingerprint,
            "files": [{"path": f.path, "sha256": f.sha256, "size": f.size}
                      for f in sorted(pack.files, key=lambda f: f.path)]}


def sign_manifest(key: Ed25519PrivateKey, payload: Mapping[str, Any]) -> bytes:
    """The manifest document: ``payload``, the public key and the Ed25519 signature over
    the payload's canonical JSON."""
    from rasad.ledger.keys import public_key_text

    signature = b64encode(key.sign(canonical_json(dict(payload)).encode())).decode()
    document = {"payload": dict(payload), "public_key": public_key_text(key.public_key()),
                "signature": signature}
    return (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode()


def _move_into_place(tmp: Path, target: Path, force: bool) -> None:
    if target.is_dir() and any(target.iterdir()):
        if not force:
            raise ConflictError(f"{target} is not empty; give an empty or new folder, or "
                                "--force to replace it.")
        trash = target.with_name(f".{target.name}.{uuid.uuid4().hex}.old")
        os.replace(target, trash)
        try:
            os.replace(tmp, target)
        except OSError:
            os.replace(trash, target)
            raise
        shutil.rmtree(trash, ignore_errors=True)
        return
    if target.is_dir():
        target.rmdir()
    os.replace(tmp, target)


def _check_target(target: Path, force: bool) -> None:
    if target.exists() and not target.is_dir():
        raise InputError(f"{target} is a file; an evidence pack is a folder: give a folder "
                         "path.")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise ConflictError(f"{target} is not empty; give an empty or new folder, or --force "
                            "to replace it.")
    if not target.parent.is_dir():
        raise InputError(f"Folder {target.parent} does not exist; create it first.")


def create(ctx: Context, framework: str, out: str | os.PathLike[str], *,
           model: str | None = None, since: str | None = None, until: str | None = None,
           force: bool = False, key: str | os.PathLike[str] | None = None,
           environ: Mapping[str, str] | None = None,
           render: Callable[[EvidencePack], str] | None = None) -> EvidencePack:
    """Write the evidence pack of ``framework`` for ``model`` (every model when None) and
    the period ``since``..``until`` (dates or ISO times, inclusive) into folder ``out``.

    ``key`` is the checkpoint signing key file (default ``RASAD_CHECKPOINT_KEY_FILE``, else
    ``RASAD_CHECKPOINT_KEY``, in ``environ``, the process environment by default).
    ``render`` draws ``index.html`` (default :func:`rasad.reports.evidence.render_evidence`).

    Raises
    ------
    NotFoundError
        No catalogue for ``framework``, or no such model.
    InputError
        A bad period, no signing key, ``out`` is a file or its parent folder is missing.
    ConflictError
        ``out`` is a non-empty folder and ``force`` is False.
    """
    from rasad.ledger import keys

    ctx.require(Permission.AUDIT_READ, "export an evidence pack")
    catalogue = load_catalogue(framework)
    period = _Period(since, until)
    signing = keys.signing_key(key, os.environ if environ is None else environ)
    target = Path(out).absolute()
    _check_target(target, force)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    tmp.mkdir()
    try:
        pack = _gather(ctx, catalogue, _Pack(tmp), period, model, signing, render)
        with ctx.transaction(Permission.AUDIT_READ, "export an evidence pack") as tx:
            tx.record(ACTION, f"evidence:{framework}", {
                "framework": framework, "model": model, "since": period.since,
                "until": period.until, "ledger_head": pack.head.seq,
                "files": len(pack.files), "manifest_sha256": pack.manifest_sha256})
            _move_into_place(tmp, target, force)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return pack.model_copy(update={"path": str(target)})


def _gather(ctx: Context, catalogue: Catalogue, pack: _Pack, period: _Period,
            model: str | None, signing: Ed25519PrivateKey,
            render: Callable[[EvidencePack], str] | None) -> EvidencePack:
    from rasad.ledger.keys import fingerprint

    details = _models(ctx, model)
    head = _ledger(ctx, pack, period)
    _access(ctx, pack)
    monitors = _inventory(ctx, pack, {d.name for d in details}, model)
    for detail in details:
        _releases(ctx, pack, detail, period)
    if not details:
        for kind in (EvidenceKind.GATE_REPORTS, EvidenceKind.APPROVALS,
                     EvidenceKind.DEPLOYMENTS):
            pack.hold(kind, [], "no model is registered")
    _fairness(ctx, pack, details, period)
    refs = _training_data(details)
    _datasheets(ctx, pack, refs)
    _validations(ctx, pack, refs, period)
    _monitoring(ctx, pack, monitors, model is not None, period)
    _erasures(ctx, pack, period)
    _cards(ctx, pack, details)
    rows = tuple(control_row(c, pack.held, pack.absent) for c in catalogue.controls)
    pack.json("controls.json", {
        "framework": catalogue.framework, "name": catalogue.name, "source": catalogue.source,
        "citation": catalogue.citation, "controls": [r.to_dict() for r in rows]}, None)
    result = EvidencePack(
        framework=catalogue.framework, framework_name=catalogue.name, source=catalogue.source,
        citation=catalogue.citation, project=ctx.config.name, model=model,
        since=period.since, until=period.until, generated_at=ctx.clock(),
        generated_by=ctx.actor, head=head, key_fingerprint=fingerprint(signing.public_key()),
        controls=rows, files=())
    if render is None:
        from rasad.reports.evidence import render_evidence
        render = render_evidence
    # The index lists every other file, so it is drawn from the pack as it stands, then
    # itself listed in the manifest.
    drawn = result.model_copy(update={"files": tuple(pack.files)})
    pack.text("index.html", render(drawn), None)
    result = result.model_copy(update={"files": tuple(pack.files)})
    manifest = sign_manifest(signing, _payload(result))
    (pack.root / MANIFEST).write_bytes(manifest)
    return result.model_copy(update={"manifest_sha256": hashlib.sha256(manifest).hexdigest()})


# -- verification ----------------------------------------------------------------------------


def _listed(root: Path) -> Iterator[str]:
    for path in sorted(root.rglob("*")):
        if path.is_file() or path.is_symlink():
            yield path.relative_to(root).as_posix()


def _bad_path(path: str) -> bool:
    pure = PurePosixPath(path)
    return (not path or "\\" in path or pure.is_absolute() or ".." in pure.parts
            or path == MANIFEST or str(pure) != path)


def verify_pack(path: str | os.PathLike[str], trusted: Sequence[Ed25519PublicKey],
                key_source: str) -> PackVerification:
    """Check the pack in ``path``: the manifest's signature under one of ``trusted`` (keys
    from ``key_source``), every listed file's size and sha256, and that no file was added.

    Pure: needs no project. Every problem is named; ``ok`` only when there is none.
    """
    from rasad.ledger.keys import fingerprint, load_public_key

    root = Path(path)
    trusted_prints = tuple(fingerprint(k) for k in trusted)
    problems: list[str] = []

    def done(fingerprint_: str | None = None, framework: str | None = None,
             head: LedgerHead | None = None, files: int = 0) -> PackVerification:
        return PackVerification(ok=not problems, path=str(root), files=files,
                                problems=tuple(problems), key_fingerprint=fingerprint_,
                                trusted_keys=trusted_prints, key_source=key_source,
                                framework=framework, head=head)

    if not root.is_dir():
        raise InputError(f"{root} is not a folder; give the folder `rasad evidence` wrote.")
    try:
        document = json.loads((root / MANIFEST).read_bytes())
        payload = document["payload"]
        public_text, signature = str(document["public_key"]), str(document["signature"])
        if payload["format"] != FORMAT:
            raise ValueError(f"format {payload['format']!r}, not {FORMAT!r}")
        listed = {str(f["path"]): (str(f["sha256"]), int(f["size"])) for f in payload["files"]}
        framework = str(payload["framework"])
        head = LedgerHead(seq=int(payload["ledger_head"]["seq"]),
                          hash=str(payload["ledger_head"]["hash"]))
        declared_key = str(payload["key"])
    except FileNotFoundError:
        problems.append(f"{MANIFEST} is missing: this is not an evidence pack, or it was "
                        "removed.")
        return done()
    except (ValueError, KeyError, TypeError) as exc:
        problems.append(f"{MANIFEST} is not an evidence-pack manifest "
                        f"({exc.__class__.__name__}: {exc}).")
        return done()
    key_print = None
    try:
        public = load_public_key(public_text, "the manifest's public key")
        key_print = fingerprint(public)
        if key_print != declared_key:
            problems.append(f"The manifest names key {declared_key} but carries key "
                            f"{key_print}.")
        public.verify(b64decode(signature, validate=True), canonical_json(payload).encode())
    except (InvalidSignature, InputError, binascii.Error, ValueError):
        problems.append(f"The signature of {MANIFEST} does not verify: the manifest was "
                        "changed after it was signed.")
    if not trusted:
        problems.append("No trusted public key to check the signature against: set "
                        "audit.public_keys in rasad.yaml or pass --public-key.")
    elif key_print is not None and key_print not in trusted_prints:
        problems.append(f"The pack is signed by key {key_print}, which is not a trusted key "
                        f"({key_source}).")
    for name, (sha256, size) in sorted(listed.items()):
        if _bad_path(name):
            problems.append(f"The manifest lists {name!r}, a path outside the pack.")
            continue
        file = root / name
        if not file.is_file() or file.is_symlink():
            problems.append(f"{name} is listed in the manifest but missing.")
            continue
        data = file.read_bytes()
        if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
            problems.append(f"{name} was changed: its sha256 is not the one the manifest "
                            "signed.")
    for name in _listed(root):
        if name != MANIFEST and name not in listed:
            problems.append(f"{name} is not listed in the manifest: it was added to the pack.")
    return done(key_print, framework, head, len(listed))


class TrustedKeys(Result):
    """The public keys a pack is checked against, and where they were found."""

    keys: tuple[str, ...]
    source: str


def trusted_keys(ctx: Context, public_keys: Sequence[str] | None = None) -> TrustedKeys:
    """``public_keys`` when given, else ``audit.public_keys``, else the first checkpoint key
    the project's ledger recorded (as ``rasad audit verify`` chooses). Needs ``audit.read``;
    public keys are not secrets, so a client may fetch them to verify a pack itself."""
    from rasad.ledger.checkpoint import KEY_ACTION, KEY_SUBJECT

    ctx.require(Permission.AUDIT_READ, "read the keys evidence packs are checked against")
    if public_keys:
        return TrustedKeys(keys=tuple(public_keys), source="--public-key")
    if ctx.config.audit.public_keys:
        return TrustedKeys(keys=tuple(ctx.config.audit.public_keys),
                           source="rasad.yaml audit.public_keys")
    from rasad import audit

    recorded = audit.log(ctx, subject=KEY_SUBJECT, action=KEY_ACTION, limit=1)
    return TrustedKeys(keys=tuple(str(e.details["public_key"]) for e in recorded),
                       source="the first checkpoint key the project's ledger recorded")


def verify(ctx: Context, path: str | os.PathLike[str], *,
           public_keys: Sequence[str] | None = None) -> PackVerification:
    """Verify the pack in ``path`` against :func:`trusted_keys`. Needs ``audit.read``."""
    from rasad.ledger.keys import load_public_key

    ctx.require(Permission.AUDIT_READ, "verify an evidence pack")
    trusted = trusted_keys(ctx, public_keys)
    return verify_pack(path, [load_public_key(v, trusted.source) for v in trusted.keys],
                       trusted.source)


__all__ = ["ACTION", "FORMAT", "MANIFEST", "ControlRow", "ControlStatus", "EvidencePack", "Gap",
           "LedgerHead", "PackFile", "PackVerification", "TrustedKeys", "control_row", "create",
           "sign_manifest", "trusted_keys", "verify", "verify_pack"]
