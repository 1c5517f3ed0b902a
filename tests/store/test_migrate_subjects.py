"""Migration 0008 (data subjects) on SQLite and PostgreSQL: down to 0007 drops its four
tables and keeps the rest; up again restores them, and an erasure works on the upgraded
database."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
import yaml

from rasad import Project
from rasad.store import migrate
from tests.store.test_migrate import _downgrade

TABLES = {"subject_indexes", "erasures", "erased_versions", "retrain_flags"}


def _tables(project: Project) -> set[str]:
    with project.db.read_engine.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def test_0008_down_and_up(project: Project) -> None:
    root = project.root
    project.add_dataset(pd.DataFrame({"customer_id": ["C-1", "C-2"], "x": [1.0, 2.0]}),
                        "people")
    assert TABLES <= _tables(project)
    _downgrade(project, "0007")
    assert not TABLES & _tables(project)
    assert migrate.current_revision(project.db) == "0007"
    project.close()
    upgraded = Project.open(root, check=False)
    migrate.upgrade(upgraded.db)
    upgraded.close()
    config = yaml.safe_load((root / "rasad.yaml").read_text(encoding="utf-8"))
    config.setdefault("governance", {})["datasets"] = {
        "people": {"subject_columns": ["customer_id"]}}
    (root / "rasad.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    with Project.open(root) as again:
        assert TABLES <= _tables(again)
        assert [d.ref for d in again.datasets()] == ["people@1"]  # data survives
        result = again.subject_erase("C-1", reason="GDPR Art. 17")
        assert [v.replaced_by for v in result.versions] == ["people@2"]
