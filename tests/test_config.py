from __future__ import annotations

from pathlib import Path

import pytest

from rasad.config import TEMPLATE, ProjectConfig, resolve_artifacts_url, resolve_database_url
from rasad.errors import ConfigError


def test_template_is_valid_and_commented() -> None:
    config = ProjectConfig.from_yaml_text(TEMPLATE.format(name="x"))
    assert config.registry.environments == ["dev", "staging", "production"]
    assert config.training.split.method == "auto"
    assert TEMPLATE.count("#") > 10


@pytest.mark.parametrize(("text", "fragment"), [
    ("name: x\ntraining:\n  split:\n    method: sideways\n",
     "training.split.method = 'sideways' is not allowed: Input should be 'auto', 'random', "
     "'stratified'"),
    ("name: x\ntraining:\n  seed: abc\n", "training.seed = 'abc' is not allowed"),
    ("name: x\nregistry:\n  environments: [dev, dev]\n", "must be unique"),
    ("name: x\ntrainng: {}\n", "trainng is not a known key"),
    ("training: {}\n", "name is required"),
    ("name: x\ntraining:\n  split:\n    test: 1.5\n", "training.split.test = 1.5"),
    ("name: [unclosed\n", "not valid YAML"),
    ("- a\n- b\n", "must be a mapping"),
])
def test_errors_name_key_value_and_allowed(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        ProjectConfig.from_yaml_text(text)
    assert fragment in str(info.value)


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = ProjectConfig.from_yaml_text("name: x\n")
    assert resolve_database_url(config, tmp_path) == f"sqlite:///{tmp_path}/.rasad/rasad.db"
    assert resolve_artifacts_url(config, tmp_path) == f"{tmp_path}/.rasad/artifacts"
    monkeypatch.setenv("RASAD_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("RASAD_ARTIFACTS_URL", "memory://bucket")
    assert resolve_database_url(config, tmp_path) == "postgresql+psycopg://u@h/db"
    assert resolve_artifacts_url(config, tmp_path) == "memory://bucket"
