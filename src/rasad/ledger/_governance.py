"""Governance state replayed from the ledger: promotion requests, their decisions, and
identities (principals, role grants, API tokens).

Each request event names its request (``request_id``), so the ledger says which model,
version and environment a request is about, how it stands (``open``, ``failed``,
``promoted``, ``forced``, ``superseded``, ``rejected``), whether it was break-glass, the
hash of its gate report and, for an open one, its rule and expiry. Every decision
(``promotion.approved``, ``promotion.rejected``, ``promotion.reviewed``) is one
``approvals`` row: the event's actor, how they authenticated and their comment.

Identity events name principals, roles and tokens but never a token's secret or its
hash, so a token row is compared on what the events carry: its principal, roles, expiry
and whether it was revoked. Times the events do not carry (``created_at``,
``disabled_at``, ``revoked_at``) are compared as set or not set.

Private to :mod:`rasad.ledger`; :class:`rasad.ledger.replay.StateReplay` feeds it.

>>> replay = GovernanceReplay()
>>> replay.feed(3, "principal.add", "principal:amal", {"kind": "person", "roles": ["viewer"]})
>>> sorted(replay.grants)
[('amal', 'viewer')]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from rasad.ledger.problems import Problem, ProblemKind
from rasad.store._tables import (
    ApiTokenRow,
    ApprovalRow,
    AuditEventRow,
    PrincipalRow,
    PromotionRequestRow,
    RoleGrantRow,
)

_REQUEST_STATUS = {"promotion.requested": "open", "promotion.gates_failed": "failed",
                   "promotion.break_glass": "forced", "promotion.superseded": "superseded",
                   "promotion.rejected": "rejected"}
_DECISIONS = {"promotion.approved": "approve", "promotion.rejected": "reject",
              "promotion.reviewed": "review"}
_IDENTITY = frozenset({"project.init", "principal.add", "principal.grant", "principal.revoke",
                       "principal.disable", "token.create", "token.revoke"})
ACTIONS = frozenset(_REQUEST_STATUS) | frozenset(_DECISIONS) | _IDENTITY | {"model.promotion"}
"""The actions this replay reads."""

_ACTOR_BATCH = 500
K = TypeVar("K")


@dataclass
class Facts:
    """What the ledger says of one row: the event that created it, and for each column
    it fixes, the last event that set it and the value."""

    seq: int
    action: str
    columns: dict[str, tuple[int, str, Any]] = field(default_factory=dict)

    def set(self, seq: int, action: str, **values: Any) -> None:
        for column, value in values.items():
            self.columns[column] = (seq, action, value)


@dataclass
class GovernanceReplay:
    """Requests, decisions, principals, grants and tokens, as the events imply them."""

    requests: dict[int, Facts] = field(default_factory=dict)
    # event seq -> (request id, decision, action, auth, comment); the event's actor, whose
    # row it is, is read when comparing (the walk hands over details, not actors).
    decisions: dict[int, tuple[int, str, str, str | None, str | None]] = field(
        default_factory=dict)
    principals: dict[str, Facts] = field(default_factory=dict)
    grants: dict[tuple[str, str], Facts] = field(default_factory=dict)
    tokens: dict[str, Facts] = field(default_factory=dict)
    first_admin_named: bool = False

    def feed(self, seq: int, action: str, subject: str, details: dict[str, Any]) -> None:
        """Take one event of :data:`ACTIONS` (its details already parsed)."""
        ref = subject.partition(":")[2]
        if action in _IDENTITY:
            self._identity(seq, action, ref, details)
            return
        request_id = details.get("request_id")
        if not isinstance(request_id, int):
            return  # a promotion from before requests existed
        facts = self.requests.get(request_id)
        if facts is None:
            facts = self.requests[request_id] = Facts(seq, action)
            facts.set(seq, action, model_name=ref, version=details.get("version"),
                      environment=details.get("environment"))
        gates = details.get("gates")
        if isinstance(gates, dict) and "report_sha256" in gates:
            facts.set(seq, action, gates_blob=gates["report_sha256"],
                      gates_passed=gates.get("passed"))
        if action == "promotion.requested":
            facts.set(seq, action, approvals_required=details.get("approvals_required"),
                      expires_at=details.get("expires_at"))
        if action == "model.promotion":
            forced = bool(details.get("break_glass"))
            facts.set(seq, action, status="forced" if forced else "promoted",
                      break_glass=forced)
        elif action in _REQUEST_STATUS:
            facts.set(seq, action, status=_REQUEST_STATUS[action],
                      break_glass=action == "promotion.break_glass")
        if action in _DECISIONS:
            comment = details.get("comment")
            self.decisions[seq] = (request_id, _DECISIONS[action], action,
                                   details.get("auth"), comment)

    def _identity(self, seq: int, action: str, ref: str, details: dict[str, Any]) -> None:
        if action == "project.init":
            if isinstance(details.get("first_admin"), str):
                self._add_principal(seq, action, details["first_admin"], "person", ["admin"])
                self.first_admin_named = True
        elif action == "principal.add":
            self._add_principal(seq, action, ref, details.get("kind"), details.get("roles", []))
            self.first_admin_named |= details.get("first_admin") is True
        elif action == "principal.grant":
            self.grants[(ref, str(details.get("role")))] = Facts(seq, action)
        elif action == "principal.revoke":
            self.grants.pop((ref, str(details.get("role"))), None)
        elif action == "principal.disable":
            self.principals.setdefault(ref, Facts(seq, action)).set(seq, action, disabled=True)
        elif action == "token.create":
            facts = self.tokens[ref] = Facts(seq, action)
            facts.set(seq, action, principal=details.get("principal"),
                      roles=sorted(details.get("roles", [])),
                      expires_at=details.get("expires_at"), revoked=False)
        else:  # token.revoke
            self.tokens.setdefault(ref, Facts(seq, action)).set(seq, action, revoked=True)

    def _add_principal(self, seq: int, action: str, name: str, kind: object,
                       roles: Iterable[str]) -> None:
        facts = self.principals[name] = Facts(seq, action)
        facts.set(seq, action, kind=kind, disabled=False)
        for role in roles:
            self.grants[(name, role)] = Facts(seq, action)

    # -- comparing -----------------------------------------------------------------------

    def compare(self, session: Session, problems: list[Problem]) -> dict[str, int]:
        """Add every difference to ``problems``; the rows read per table."""
        return {"promotion_requests": self._requests(session, problems),
                "approvals": self._approvals(session, problems),
                "principals": self._principals(session, problems),
                "role_grants": self._grants(session, problems),
                "api_tokens": self._tokens(session, problems)}

    def _requests(self, session: Session, problems: list[Problem]) -> int:
        rows = session.execute(select(
            PromotionRequestRow.id, PromotionRequestRow.model_name, PromotionRequestRow.version,
            PromotionRequestRow.environment, PromotionRequestRow.status,
            PromotionRequestRow.break_glass, PromotionRequestRow.gates_blob,
            PromotionRequestRow.gates_passed, PromotionRequestRow.approvals_required,
            PromotionRequestRow.expires_at)).all()
        stored = {r.id: {"model_name": r.model_name, "version": r.version,
                         "environment": r.environment, "status": r.status,
                         "break_glass": bool(r.break_glass), "gates_blob": r.gates_blob,
                         "gates_passed": bool(r.gates_passed),
                         "approvals_required": r.approvals_required,
                         "expires_at": r.expires_at} for r in rows}
        compare_rows(problems, "promotion_requests", lambda k: f"#{k}", self.requests, stored,
                     "promotion request")
        return len(rows)

    def _approvals(self, session: Session, problems: list[Problem]) -> int:
        actors = _actors(session, sorted(self.decisions))
        expected: dict[tuple[int, str, str], Facts] = {}
        for seq, (request_id, decision, action, auth, comment) in self.decisions.items():
            facts = expected[(request_id, actors.get(seq, "?"), decision)] = Facts(seq, action)
            facts.set(seq, action, auth=auth, comment=comment)
        rows = session.execute(select(ApprovalRow.request_id, ApprovalRow.principal,
                                      ApprovalRow.decision, ApprovalRow.auth,
                                      ApprovalRow.comment)).all()
        stored = {(r.request_id, r.principal, r.decision): {"auth": r.auth, "comment": r.comment}
                  for r in rows}
        compare_rows(problems, "approvals", lambda k: f"request #{k[0]}, {k[1]}, {k[2]}",
                     expected, stored, "such decision")
        return len(rows)

    def _principals(self, session: Session, problems: list[Problem]) -> int:
        if not self.first_admin_named:
            self._unnamed_first_admin(session)
        rows = session.execute(select(PrincipalRow.name, PrincipalRow.kind,
                                      PrincipalRow.disabled_at)).all()
        stored = {r.name: {"kind": r.kind, "disabled": r.disabled_at is not None} for r in rows}
        compare_rows(problems, "principals", str, self.principals, stored, "such principal")
        return len(rows)

    def _unnamed_first_admin(self, session: Session) -> None:
        """A ledger that names no first admin (its claiming event predates the name, or
        was rewritten: the checkpoints name that): the one principal that created itself
        (only the bootstrap does) is taken as that admin, with its admin grant."""
        name = session.execute(select(PrincipalRow.name)
                               .where(PrincipalRow.created_by == PrincipalRow.name)
                               .order_by(PrincipalRow.id).limit(1)).scalar()
        if name is not None and name not in self.principals:
            self.principals[name] = Facts(0, "project.init")
            self.grants.setdefault((name, "admin"), Facts(0, "project.init"))

    def _grants(self, session: Session, problems: list[Problem]) -> int:
        rows = session.execute(
            select(PrincipalRow.name, RoleGrantRow.role)
            .join(PrincipalRow, PrincipalRow.id == RoleGrantRow.principal_id)).all()
        stored: dict[tuple[str, str], dict[str, Any]] = {(r.name, r.role): {} for r in rows}
        compare_rows(problems, "role_grants", lambda k: f"{k[0]}, {k[1]}", self.grants, stored,
                     "grant of that role in force")
        return len(rows)

    def _tokens(self, session: Session, problems: list[Problem]) -> int:
        rows = session.execute(
            select(ApiTokenRow.id, PrincipalRow.name, ApiTokenRow.roles,
                   ApiTokenRow.expires_at, ApiTokenRow.revoked_at)
            .outerjoin(PrincipalRow, PrincipalRow.id == ApiTokenRow.principal_id)).all()
        stored = {r.id: {"principal": r.name, "roles": sorted(json.loads(r.roles)),
                         "expires_at": r.expires_at, "revoked": r.revoked_at is not None}
                  for r in rows}
        compare_rows(problems, "api_tokens", str, self.tokens, stored, "such token")
        return len(rows)


def _actors(session: Session, seqs: list[int]) -> dict[int, str]:
    """Who recorded each of ``seqs`` (decision rows name their event's actor)."""
    found: dict[int, str] = {}
    for start in range(0, len(seqs), _ACTOR_BATCH):
        chunk = seqs[start:start + _ACTOR_BATCH]
        rows = session.execute(select(AuditEventRow.seq, AuditEventRow.actor)
                               .where(AuditEventRow.seq.in_(chunk)))
        found.update((seq, actor) for seq, actor in rows)
    return found


def compare_rows(problems: list[Problem], table: str, label: Callable[[K], str],
                 implied: dict[K, Facts], stored: dict[K, dict[str, Any]],
                 unrecorded: str) -> None:
    """Name each implied row that is missing or differs in a column the events fix, and
    each stored row the events do not imply.

    >>> found: list[Problem] = []
    >>> facts = Facts(4, "token.create")
    >>> facts.set(4, "token.create", revoked=False)
    >>> compare_rows(found, "api_tokens", str, {"t1": facts},
    ...              {"t1": {"revoked": True}, "t2": {}}, "such token")
    >>> [p.message for p in found]  # doctest: +NORMALIZE_WHITESPACE
    ['api_tokens (t1): revoked is True, but the ledger (token.create, event 4) recorded
      False.', 'api_tokens (t2) exists, but the ledger records no such token.']
    """
    rest = dict(stored)
    for key, facts in sorted(implied.items(), key=_by_key):
        row = f"{table} ({label(key)})"
        values = rest.pop(key, None)
        if values is None:
            problems.append(Problem(ProblemKind.STATE, (
                f"{row} is missing: the ledger recorded it ({facts.action}, event "
                f"{facts.seq})."), seq=facts.seq, row=row))
            continue
        for column, (seq, action, want) in facts.columns.items():
            if column in values and values[column] != want:
                problems.append(Problem(ProblemKind.STATE, (
                    f"{row}: {column} is {values[column]!r}, but the ledger ({action}, event "
                    f"{seq}) recorded {want!r}."), seq=seq, row=row))
    for key in sorted(rest, key=_itself):
        row = f"{table} ({label(key)})"
        problems.append(Problem(ProblemKind.STATE, (
            f"{row} exists, but the ledger records no {unrecorded}."), row=row))


def _by_key(item: tuple[K, Facts]) -> Any:
    return item[0]


def _itself(key: K) -> Any:
    return key
