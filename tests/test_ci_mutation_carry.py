"""`.ci/mutation_carry.py`: mutmut's verdicts saved to the repository and put back on a
fresh clone, word for word, and never over mutants already generated."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "mutation_carry.py"


@pytest.fixture
def carry() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutation_carry", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_verdicts_go_to_the_repository_and_back(carry: ModuleType, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "first" / "src" / "rasad" / "ledger" / "chain.py.meta"
    source.parent.mkdir(parents=True)
    verdicts = {"rasad.ledger.chain.x_verify__mutmut_1": 1,
                "rasad.ledger.chain.x_verify__mutmut_2": None}
    source.write_text(json.dumps({
        "exit_code_by_key": verdicts, "hash_by_function_name": {"x_verify": "abc"},
        "type_check_error_by_key": {}, "durations_by_key": {"x": 1.5},
        "estimated_durations_by_key": {}}), encoding="utf-8")
    results = tmp_path / "results.json"
    assert carry.save(results, tmp_path / "first") == 0
    assert "Saved 1 of 2 verdicts (1 files)" in capsys.readouterr().out
    saved = json.loads(results.read_text(encoding="utf-8"))
    assert saved["files"] == {"src/rasad/ledger/chain.py": {
        "exit_code_by_key": verdicts, "hash_by_function_name": {"x_verify": "abc"}}}

    fresh = tmp_path / "second"
    assert carry.restore(results, fresh) == 0
    restored = json.loads((fresh / "src/rasad/ledger/chain.py.meta").read_text(encoding="utf-8"))
    assert restored == {"exit_code_by_key": verdicts, "hash_by_function_name": {"x_verify": "abc"},
                        "type_check_error_by_key": {}, "durations_by_key": {},
                        "estimated_durations_by_key": {}}

    (fresh / "src/rasad/ledger/chain.py").write_text("# a generated mutant\n", encoding="utf-8")
    assert carry.restore(results, fresh) == 2
    assert "restore into a fresh folder only" in capsys.readouterr().err


def test_nothing_to_save_or_restore_says_so(carry: ModuleType, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert carry.save(tmp_path / "results.json", tmp_path / "mutants") == 1
    assert "run `mutmut run` first" in capsys.readouterr().err
    assert not (tmp_path / "results.json").exists()
    assert carry.restore(tmp_path / "results.json", tmp_path / "mutants") == 0
    assert "nothing to carry on from" in capsys.readouterr().err
