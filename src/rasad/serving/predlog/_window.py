"""A window of the prediction log: which model, environment, role and time span to read.

>>> now = datetime(2026, 5, 8, 12, 0, tzinfo=UTC)
>>> window = LogWindow.parse("credit", environment="production", since="7d", now=now)
>>> window.since.isoformat(), window.until
('2026-05-01T12:00:00+00:00', None)
>>> window.ref
'log:credit@production[2026-05-01T12:00:00Z..]'
>>> parse_moment("2026-05-01", "--since", now=now).isoformat()
'2026-05-01T00:00:00+00:00'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from rasad.errors import InputError
from rasad.names import check_name
from rasad.serving.records import Role

_AGE = re.compile(r"^(\d{1,6})([mhdw])$")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1),
          "w": timedelta(weeks=1)}
ROLES: tuple[Role, ...] = ("primary", "canary", "shadow")


@dataclass(frozen=True)
class LogWindow:
    """The predictions of ``model`` logged between ``since`` (included) and ``until``
    (excluded), in ``environment`` (every environment when None), by deployments of
    ``role`` (every role when None).

    Naive times are read as UTC. As a data source of a check it names itself by
    :attr:`ref` (what a saved result records as its current data).
    """

    model: str
    environment: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    role: Role | None = "primary"

    def __post_init__(self) -> None:
        check_name(self.model, "Model")
        if self.environment is not None:
            check_name(self.environment, "Environment")
        if self.role is not None and self.role not in ROLES:
            raise InputError(f"Role {self.role!r} is not one of {', '.join(ROLES)}.")
        since, until = _utc(self.since), _utc(self.until)
        if since is not None and until is not None and since >= until:
            raise InputError(f"The window ends ({_text(until)}) before it starts "
                             f"({_text(since)}); give --until after --since.")
        object.__setattr__(self, "since", since)
        object.__setattr__(self, "until", until)

    @classmethod
    def parse(cls, model: str, *, environment: str | None = None, since: str | None = None,
              until: str | None = None, role: Role | None = "primary",
              now: datetime | None = None) -> LogWindow:
        """A window from command-line text: times as ISO 8601 or ages such as ``7d``."""
        moment = now or datetime.now(UTC)
        return cls(model, environment,
                   None if since is None else parse_moment(since, "--since", now=moment),
                   None if until is None else parse_moment(until, "--until", now=moment),
                   role)

    @property
    def ref(self) -> str:
        """``log:MODEL[@ENV][/ROLE][SINCE..UNTIL]``, e.g. ``log:credit@production[..]``."""
        where = f"@{self.environment}" if self.environment else ""
        role = "" if self.role == "primary" else f"/{self.role or 'all'}"
        return (f"log:{self.model}{where}{role}"
                f"[{_text(self.since) if self.since else ''}.."
                f"{_text(self.until) if self.until else ''}]")

    def describe(self) -> str:
        """The window in words, for messages."""
        where = f" in {self.environment}" if self.environment else ""
        role = "" if self.role is None else f" ({self.role})"
        span = (f" from {_text(self.since)}" if self.since else "") + \
               (f" until {_text(self.until)}" if self.until else "")
        return f"model {self.model!r}{where}{role}{span}"


def parse_moment(text: str, option: str, *, now: datetime) -> datetime:
    """An ISO 8601 date or time (naive means UTC), or an age before ``now``: ``30m``,
    ``12h``, ``7d``, ``2w``.

    >>> parse_moment("soon", "--since", now=datetime(2026, 1, 1, tzinfo=UTC))
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: --since 'soon' is not understood: give an ISO 8601 date or time \
(2026-05-01, 2026-05-01T12:00Z) or an age such as 30m, 12h, 7d or 2w.
    """
    stripped = text.strip()
    age = _AGE.fullmatch(stripped)
    if age is not None:
        return now - int(age.group(1)) * _UNITS[age.group(2)]
    try:
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        raise InputError(f"{option} {text!r} is not understood: give an ISO 8601 date or time "
                         "(2026-05-01, 2026-05-01T12:00Z) or an age such as 30m, 12h, 7d or "
                         "2w.") from None
    return _as_utc(moment)


def _utc(moment: datetime | date | None) -> datetime | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return _as_utc(moment)
    if isinstance(moment, date):
        return datetime.combine(moment, time(), UTC)
    raise InputError(f"A window's bounds are datetimes, not {type(moment).__name__}.")


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _text(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
