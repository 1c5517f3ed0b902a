"""A write transaction's record: the actor's authentication is the transaction's to say."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from rasad.ledger.transaction import Tx
from rasad.store import Database, migrate
from rasad.store._tables import AuditEventRow


def test_a_caller_cannot_record_its_own_auth(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/rasad.db")
    migrate.upgrade(db)
    with db.write() as session:
        tx = Tx(session, "amal", "token:7")
        with pytest.raises(ValueError) as caught:
            tx.record("model.promote", "model:credit@2", {"auth": "os-user"})
        assert str(caught.value) == ("Audit details may not carry the key 'auth': the "
                                     "transaction records how its actor authenticated.")
        assert session.scalar(select(func.count()).select_from(AuditEventRow)) == 0
        event = tx.record("model.promote", "model:credit@2", {"stage": "production"})
    assert dict(event.details) == {"stage": "production", "auth": "token:7"}
    db.dispose()
