"""The mapping table and the names it gives: sources without credentials, the actions
with a lineage meaning, deterministic run ids."""

from __future__ import annotations

import pytest

from rasad.lineage import ACTIONS
from rasad.lineage._mapping import MAPPERS, _source, run_id


def test_the_action_list_is_the_mapping_table() -> None:
    assert frozenset(MAPPERS) == ACTIONS


@pytest.mark.parametrize(("source", "expected"), [
    ("/data/loans.csv", [("file", "/data/loans.csv")]),
    ("file:///data/loans.csv", [("file", "/data/loans.csv")]),
    ("s3://AKIAKEY:secret@bank-data/raw/loans.parquet?X-Amz-Signature=abc",
     [("s3://bank-data", "raw/loans.parquet")]),
    ("https://user:pw@files.bank.example:8443/loans.csv?token=t#frag",
     [("https://files.bank.example:8443", "/loans.csv")]),
    ("hdfs://namenode:8020/warehouse/loans", [("hdfs://namenode:8020", "/warehouse/loans")]),
    ("pandas.DataFrame", []),
    ("relative/loans.csv", []),
    ("s3://", []),
])
def test_a_source_becomes_an_input_without_credentials(source: str,
                                                       expected: list[tuple[str, str]]) -> None:
    found = [(d.namespace, d.name) for d in _source({"source": source})]
    assert found == expected
    for dataset in _source({"source": source}):
        assert "secret" not in dataset.namespace + dataset.name
        assert "pw" not in dataset.namespace and "token" not in dataset.name


def test_a_clients_file_is_not_named() -> None:
    assert _source({"source": "/home/amal/loans.csv", "source_from": "client"}) == []
    assert _source({"source": "s3://b/k", "source_from": "automation"}) != []


def test_run_ids_are_uuid5_of_namespace_and_key() -> None:
    first = run_id("credit-risk", "run:abc")
    assert first == run_id("credit-risk", "run:abc")
    assert first != run_id("credit-risk", "run:abd") != run_id("other", "run:abc")
    assert first[14] == "5"  # the UUID version: name-based, no clock, no randomness
