from __future__ import annotations

from pathlib import Path

import pytest

from rasad.config import (
    GATES,
    TEMPLATE,
    ProjectConfig,
    load_yaml,
    redact_url,
    resolve_artifacts_url,
    resolve_database_url,
)
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


def _laughs(levels: int) -> str:
    return "name: x\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"l{n}: &l{n} [{', '.join([f'*{prev}'] * 10)}]\n"
        for n, prev in zip(range(1, levels), ["a", *(f"l{i}" for i in range(1, levels - 1))],
                           strict=True))


def test_aliases_within_the_bound_are_expanded() -> None:
    raw = load_yaml("name: x\nbase: &b {lr: 0.1, depth: [1, 2]}\nrun: *b\nagain: *b\n", "t")
    assert raw["run"] == raw["again"] == {"lr": 0.1, "depth": [1, 2]}
    assert load_yaml(_laughs(3), "t")["l2"][9][9][9] == "lol"  # 1,000 values: fine


@pytest.mark.parametrize("levels", [4, 9])
def test_billion_laughs_is_refused_before_it_is_built(levels: int) -> None:
    with pytest.raises(ConfigError, match="rasad.yaml: its aliases .* expand to more than "
                                          "10,000 values"):
        ProjectConfig.from_yaml_text(_laughs(levels))


@pytest.mark.parametrize("text", ["name: x\nloop: &a [1, *a]\n",
                                  "name: x\nm: &m {k: *m}\n"])
def test_recursive_aliases_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="recursive alias"):
        ProjectConfig.from_yaml_text(text)


def test_deep_nesting_is_a_config_error_not_a_crash() -> None:
    with pytest.raises(ConfigError, match="not valid YAML|nests lists or mappings too deeply"):
        ProjectConfig.from_yaml_text("name: x\nd: " + "[" * 5000 + "]" * 5000 + "\n")


@pytest.mark.parametrize(("params", "fragment"), [
    ("{when: 2024-01-01}", "when = datetime.date(2024, 1, 1) is a date"),
    ("{w: [[[[[1]]]]]}", "w nests lists or mappings 5 deep"),
    ("{C: .inf}", "C = inf is not a finite number"),
])
def test_estimator_params_must_be_plain(params: str, fragment: str) -> None:
    text = f"name: x\ntraining:\n  estimator:\n    params: {params}\n"
    with pytest.raises(ConfigError, match="training.estimator.params = .* is not allowed") as info:
        ProjectConfig.from_yaml_text(text)
    assert fragment in str(info.value)


def test_dumps_hide_the_database_password() -> None:
    config = ProjectConfig.from_yaml_text(
        "name: x\nstorage:\n  database_url: postgresql://u:hunter2@db/rasad\n"
        "  artifacts_url: s3://key:s3cr3t@bucket/rasad\n")
    assert config.storage.database_url == "postgresql://u:hunter2@db/rasad"  # used as given
    dumped = str(config.model_dump(by_alias=True)) + config.model_dump_json()
    assert "hunter2" not in dumped and "s3cr3t" not in dumped
    assert "postgresql://u:***@db/rasad" in dumped


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql+psycopg://u:p%40ss@h:5432/d", "postgresql+psycopg://u:***@h:5432/d"),
    ("postgresql://u:p@ss@h/d", "postgresql://u:***@h/d"),
    ("postgresql://u@h/d?password=x&sslmode=require", "postgresql://u@h/d?password=***&sslmode=require"),
    ("postgresql://h:5432/d", "postgresql://h:5432/d"),
    ("sqlite:////tmp/a:b@c/rasad.db", "sqlite:////tmp/a:b@c/rasad.db"),
])
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_a_control_character_in_yaml_is_a_clean_config_error() -> None:
    # PyYAML refuses it while building the loader, before parsing starts.
    from rasad.config import load_yaml

    with pytest.raises(ConfigError, match=r"x\.yaml is not valid YAML"):
        load_yaml("a: \x07b\n", "x.yaml")


# -- promotion policies (issue 11) --------------------------------------------------------

def test_role_names_in_approval_rules_are_the_identity_roles() -> None:
    from typing import get_args

    from rasad.config import RoleName
    from rasad.identity import Role

    assert list(get_args(RoleName)) == [str(role) for role in Role]


def test_default_policies_follow_environment_order() -> None:
    config = ProjectConfig.from_yaml_text(
        "name: x\nregistry:\n  environments: [dev, test, uat, prod]\n")
    envs = config.registry.environments
    policies = {env: config.promotion.policy(env, envs) for env in envs}
    assert policies["dev"].gate_names == ()
    assert policies["dev"].approval is None
    assert policies["test"].gate_names == policies["uat"].gate_names == GATES
    assert policies["uat"].approval is None
    assert policies["prod"].approval is not None
    assert (policies["prod"].approval.approvals, policies["prod"].approval.roles) == (
        1, ["approver"])


def test_a_single_environment_runs_every_gate_without_approval() -> None:
    config = ProjectConfig.from_yaml_text("name: x\nregistry:\n  environments: [live]\n")
    policy = config.promotion.policy("live", ["live"])
    assert policy.gate_names == GATES
    assert policy.approval is None


def test_declared_policies_keep_gate_order_and_approval_rule() -> None:
    config = ProjectConfig.from_yaml_text(
        "name: x\npromotion:\n  environments:\n"
        "    production: {gates: [fairness, metrics], approval: {approvals: 2,"
        " roles: [approver, admin]}, strict: true}\n")
    policy = config.promotion.policy("production", config.registry.environments)
    assert policy.gate_names == ("metrics", "fairness")
    assert policy.approval is not None and policy.approval.approvals == 2
    assert policy.strict


@pytest.mark.parametrize(("text", "fragment"), [
    ("promotion:\n  environments: {prod: {}}\n",
     "promotion.environments names prod, not in registry.environments"),
    ("promotion:\n  metrics: {roc_auc: {min: 0.7, max: 0.9}}\n",
     "promotion.metrics.roc_auc = "),
    ("promotion:\n  metrics: {roc_auc: {min: 0.7, on: bound}}\n",
     "line 3: the key 'on' reads as true/false in YAML; quote it"),
    ("promotion:\n  environments: {production: {gates: [speed]}}\n",
     "promotion.environments.production.gates"),
    ("promotion:\n  environments: {production: {approval: {roles: [boss]}}}\n",
     "'boss' is not allowed"),
    ("promotion:\n  environments: {production: {approval: {approvals: 0}}}\n",
     "approvals = 0 is not allowed"),
    ("promotion:\n  tests: [{name: t, kind: directional, column: dti}]\n",
     "test 't' (directional) needs change, direction"),
    ("promotion:\n  tests: [{name: t, kind: robustness}, {name: t, kind: robustness}]\n",
     "repeated: t"),
    ("promotion:\n  tests: [{name: t, kind: slice_performance, metric: roc_auc,"
     " slice: {column: age}, min: 0.7}]\n", "give values, or min and/or max"),
    ("promotion:\n  personal_data: {allowed: {email: '  '}}\n",
     "column 'email' needs a written justification"),
    ("promotion:\n  bootstrap: 10\n", "promotion.bootstrap = 10"),
])
def test_promotion_policy_errors_name_the_key(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        ProjectConfig.from_yaml_text("name: x\n" + text)
    assert fragment in str(err.value)
