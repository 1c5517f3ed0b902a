"""``rasad package`` writes the automation agent's manifests: a CronJob running
``rasad agent --once`` or a Deployment of the long-running agent, from the serving image,
as hardened as the server, checked against the Kubernetes schemas the same way; and it
refuses a bad agent option, or a credential variable that cannot be one, before writing
anything."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from rasad import Project
from rasad.errors import InputError
from rasad.serving.packaging import DEFAULT_POLICY, AgentKind, PackagePolicy, PackageResult, package
from tests.cli._helpers import Cli, assert_user_error, only_json
from tests.serving._package_helpers import (
    HADOLINT,
    deployed,
    hadolint,
    manifests,
    pinned,
    with_package_command,
)

AUTOMATION = """\
name: credit
registry:
  environments: [dev, production]
promotion:
  environments: {production: {approval: null, gates: []}}
training:
  estimator: {class: lightgbm.LGBMClassifier}
audit:
  checkpoints: checkpoints
automation:
  sources:
    incoming: {kind: files, dataset: loans, path: incoming/*.csv}
    served: {kind: prediction_log, model: credit}
  monitors:
    quality: {kind: validation, source: incoming}
    drift: {kind: drift, source: served, schedule: "0 * * * *", actions: [alert, retrain]}
  alerts:
    channels:
      ops: {kind: webhook, url: "https://hooks.example/in", secret_env: OPS_HOOK_SECRET}
      mail: {kind: email, host: smtp.example, sender: rasad@example.com,
             to: [risk@example.com], username: rasad, password_env: SMTP_PASSWORD}
      log: {kind: file}
  retraining:
    credit: {}
  agent:
    checkpoints: "0 0 * * *"
"""
AGENT_KEYS = ["OPS_HOOK_SECRET", "SMTP_PASSWORD", "RASAD_CHECKPOINT_KEY"]


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[tuple[Project, dict[str, tuple[Path, PackageResult]]]]:
    """A project with automation and credit@1 in production, packaged with the default
    agent (a CronJob) and with the long-running one."""
    root = tmp_path_factory.mktemp("agent")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("RASAD_DATABASE_URL", "RASAD_ARTIFACTS_URL"):
            patch.delenv(name, raising=False)
        patch.setenv("RASAD_USER", "tester")
        with Project.init(root / "proj", config_text=AUTOMATION) as project:
            deployed(project, "production")
            out = {"cronjob": (root / "cron", project.package("production", root / "cron")),
                   "deployment": (root / "dep", package(project.context, "production",
                                                        root / "dep", agent="deployment"))}
            yield project, out


def _pod(document: dict[str, Any]) -> dict[str, Any]:
    if document["kind"] == "CronJob":
        pod: dict[str, Any] = document["spec"]["jobTemplate"]["spec"]["template"]
    else:
        pod = document["spec"]["template"]
    return pod


def _serving_container(docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    container: dict[str, Any] = docs["deployment.yaml"]["spec"]["template"]["spec"][
        "containers"][0]
    return container


def test_by_default_a_cronjob_runs_one_pass_on_the_schedule(
        packaged: tuple[Project, dict[str, tuple[Path, PackageResult]]]) -> None:
    folder, result = packaged[1]["cronjob"]
    docs = manifests(folder)
    assert "agent-deployment.yaml" not in docs
    assert "agent-cronjob.yaml" in docs["kustomization.yaml"]["resources"]
    cron = docs["agent-cronjob.yaml"]
    assert (cron["apiVersion"], cron["kind"]) == ("batch/v1", "CronJob")
    assert cron["metadata"]["name"] == "credit-production-agent"
    spec = cron["spec"]
    assert spec["schedule"] == "*/5 * * * *" == result.agent_schedule
    assert spec["timeZone"] == "Etc/UTC"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] == DEFAULT_POLICY.agent_starting_deadline_seconds
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == DEFAULT_POLICY.agent_backoff_limit
    assert job["activeDeadlineSeconds"] == DEFAULT_POLICY.agent_pass_deadline_seconds
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    # The serving image with its entry point replaced; each pod is its own claim owner.
    assert container["image"] == result.image
    assert container["command"] == ["rasad"]
    assert container["args"] == ["agent", "--once", "--owner", "$(RASAD_AGENT_POD)"]
    env = {e["name"]: e for e in container["env"]}
    assert env["RASAD_AGENT_POD"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["RASAD_USER"] == {"name": "RASAD_USER", "value": "credit-production-agent"}
    assert result.agent == "cronjob" and result.agent_principal == "credit-production-agent"


def test_the_long_running_agent_is_a_probed_deployment_of_one_pod(
        packaged: tuple[Project, dict[str, tuple[Path, PackageResult]]]) -> None:
    folder, result = packaged[1]["deployment"]
    docs = manifests(folder)
    assert "agent-cronjob.yaml" not in docs
    assert "agent-deployment.yaml" in docs["kustomization.yaml"]["resources"]
    agent = docs["agent-deployment.yaml"]
    assert agent["spec"]["replicas"] == 1
    pod = agent["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    port = DEFAULT_POLICY.agent_health_port
    assert container["args"] == ["agent", "--health-port", str(port), "--owner",
                                 "$(RASAD_AGENT_POD)"]
    assert container["ports"] == [{"name": "health", "containerPort": port, "protocol": "TCP"}]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert agent["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert pod["spec"]["terminationGracePeriodSeconds"] == DEFAULT_POLICY.agent_grace_seconds
    assert result.agent == "deployment" and result.agent_schedule is None
    # The server's Deployment, Service and budget never select the agent's pod (the
    # Service would route predictions to it), and the agent's selector never a server's.
    serving_selector = docs["deployment.yaml"]["spec"]["selector"]["matchLabels"]
    for selector in (serving_selector, docs["service.yaml"]["spec"]["selector"],
                     docs["pdb.yaml"]["spec"]["selector"]["matchLabels"]):
        assert not selector.items() <= pod["metadata"]["labels"].items()
    serving_labels = docs["deployment.yaml"]["spec"]["template"]["metadata"]["labels"]
    assert not agent["spec"]["selector"]["matchLabels"].items() <= serving_labels.items()


@pytest.mark.parametrize("kind", ["cronjob", "deployment"])
def test_the_agent_is_as_hardened_as_the_server_and_shares_its_config_and_secret(
        packaged: tuple[Project, dict[str, tuple[Path, PackageResult]]], kind: str) -> None:
    folder, result = packaged[1][kind]
    docs = manifests(folder)
    pod = _pod(docs[f"agent-{kind}.yaml"])
    (container,) = pod["spec"]["containers"]
    serving = _serving_container(docs)
    serving_pod = docs["deployment.yaml"]["spec"]["template"]["spec"]
    assert container["securityContext"] == serving["securityContext"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["runAsNonRoot"] is True
    assert pod["spec"]["securityContext"] == serving_pod["securityContext"]
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert pod["spec"]["volumes"] == [{"name": "tmp", "emptyDir": {
        "sizeLimit": DEFAULT_POLICY.agent_tmp_size}}]
    assert container["resources"] == {
        "requests": {"cpu": DEFAULT_POLICY.agent_cpu_request,
                     "memory": DEFAULT_POLICY.agent_memory_request},
        "limits": {"cpu": DEFAULT_POLICY.agent_cpu_limit,
                   "memory": DEFAULT_POLICY.agent_memory_limit}}
    assert container["envFrom"] == serving["envFrom"] == [
        {"configMapRef": {"name": "credit-production-config"}},
        {"secretRef": {"name": "credit-production-secrets"}}]
    # The database URL the server requires, and the credentials rasad.yaml names for the
    # agent, each required by name; the server does not require the agent's.
    required = [e["name"] for e in container["env"] if "secretKeyRef" in e.get("valueFrom", {})]
    assert required == ["RASAD_DATABASE_URL", *AGENT_KEYS]
    for entry in container["env"]:
        if "secretKeyRef" in entry.get("valueFrom", {}):
            assert entry["valueFrom"]["secretKeyRef"] == {
                "name": "credit-production-secrets", "key": entry["name"]}
    assert [e["name"] for e in serving["env"]] == ["RASAD_DATABASE_URL"]
    assert result.secret_keys == ["RASAD_DATABASE_URL", *AGENT_KEYS]
    # A changed ConfigMap rolls the agent too.
    assert pod["metadata"]["annotations"]["rasad.io/config-sha256"] == (
        docs["deployment.yaml"]["spec"]["template"]["metadata"]["annotations"][
            "rasad.io/config-sha256"])


@pytest.mark.parametrize("version", [DEFAULT_POLICY.kubernetes_version,
                                     kubernetes_validate.latest_version()])
@pytest.mark.parametrize("kind", ["cronjob", "deployment"])
def test_the_agent_manifest_validates_strictly(
        packaged: tuple[Project, dict[str, tuple[Path, PackageResult]]], kind: str,
        version: str) -> None:
    document = manifests(packaged[1][kind][0])[f"agent-{kind}.yaml"]
    kubernetes_validate.validate(document, version, strict=True)
    # ... and the check would notice a field Kubernetes does not know, at any depth.
    _pod(document)["spec"]["containers"][0]["readOnlyRootFilesystem"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(document, version, strict=True)


def test_the_package_s_check_names_a_bad_agent_manifest(
        packaged: tuple[Project, dict[str, tuple[Path, PackageResult]]]) -> None:
    # The check `rasad package` runs on every manifest before writing, on the agent's:
    # it parses the text back and names the file, the kind and the field.
    from rasad.errors import CheckFailed
    from rasad.serving.packaging._manifests import validate

    path = packaged[1]["cronjob"][0] / "k8s" / "agent-cronjob.yaml"
    text = path.read_text()
    validate({"agent-cronjob.yaml": text}, DEFAULT_POLICY.kubernetes_version)
    bad = text.replace("concurrencyPolicy: Forbid", "concurrencyPolicy: Forbid\n  concurency: 1")
    with pytest.raises(CheckFailed, match=r"k8s/agent-cronjob.yaml \(CronJob\) does not "
                                          r"validate against Kubernetes 1.30"):
        validate({"agent-cronjob.yaml": bad}, DEFAULT_POLICY.kubernetes_version)


def test_a_long_project_name_still_gives_a_cronjob_name_kubernetes_takes() -> None:
    # A CronJob's name may have at most 52 characters (its Jobs add 11).
    from rasad.serving.packaging._agent import AgentSpec
    from rasad.serving.packaging._manifests import ServingSpec, app_name

    for project in ("x" * 200, "Credit Risk Scoring of the Retail Portfolio, Europe"):
        serving = ServingSpec(name=app_name(project, "production-eu-west"), env="production",
                              project=project, image="a:1", port=8080, replicas=2, config={},
                              secret_keys=(), policy=DEFAULT_POLICY)
        spec = AgentSpec(serving=serving, kind=AgentKind.CRONJOB, schedule="* * * * *",
                         secret_keys=())
        assert len(spec.name) <= 52 and spec.name.endswith("-agent")


def test_the_readme_says_how_to_give_the_agent_its_credentials_and_principal(
        packaged: tuple[Project, dict[str, tuple[Path, PackageResult]]]) -> None:
    folder, _ = packaged[1]["cronjob"]
    readme = (folder / "README.md").read_text()
    create = readme.split("kubectl create secret generic credit-production-secrets \\\n")[1]
    create = create.split("```")[0]
    for key in ("OPS_HOOK_SECRET", "SMTP_PASSWORD"):
        assert f"--from-literal={key}='...'" in create
    assert "--from-file=RASAD_CHECKPOINT_KEY=" in create
    # Every continued line of the shell command ends with its backslash: nothing (a
    # comment) may cut the command short.
    lines = [line for line in create.splitlines() if line.strip()]
    assert all(line.endswith(" \\") for line in lines[:-1]) and not lines[-1].endswith("\\")
    assert "## 5. The automation agent" in readme
    assert "kubectl create job --from=cronjob/credit-production-agent" in readme
    assert ("rasad users add credit-production-agent --service --role data_scientist "
            "--role deployer") in readme
    assert "`k8s/agent-cronjob.yaml`" in readme


def test_warnings_name_what_the_agent_s_pods_cannot_reach(
        packaged: tuple[Project, dict[str, tuple[Path, PackageResult]]]) -> None:
    warnings = packaged[1]["cronjob"][1].warnings
    assert any("automation.sources.incoming watches incoming/*.csv" in w
               and "/srv/rasad/incoming/*.csv" in w for w in warnings)
    assert any("automation.alerts.channels.log appends alerts" in w for w in warnings)
    assert any("audit.checkpoints" in w and "/srv/rasad/checkpoints" in w for w in warnings)
    assert not any("channels.ops" in w or "channels.mail" in w for w in warnings)


def test_the_image_has_the_estimator_the_agent_retrains_with(
        packaged: tuple[Project, dict[str, tuple[Path, PackageResult]]]) -> None:
    folder, result = packaged[1]["cronjob"]
    # credit@1 is a logistic regression: LightGBM is there only for the agent's retraining.
    assert "lightgbm" not in result.models[0].libraries
    assert "lightgbm" in pinned(folder) and "croniter" in pinned(folder)
    text = (folder / "requirements.txt").read_text()
    assert any(line.startswith("lightgbm==") and line.endswith("# for agent")
               for line in text.splitlines())
    dockerfile = (folder / "Dockerfile").read_text()
    assert "k8s/agent-cronjob.yaml replaces the" in dockerfile
    assert dockerfile.splitlines()[-1].startswith('ENTRYPOINT ["rasad", "serve"')


def test_the_dockerfile_with_the_agent_passes_hadolint(
        packaged: tuple[Project, dict[str, tuple[Path, PackageResult]]]) -> None:
    assert HADOLINT.exists()
    assert hadolint(packaged[1]["cronjob"][0] / "Dockerfile") == []


def test_the_audit_event_records_the_agent(
        packaged: tuple[Project, dict[str, tuple[Path, PackageResult]]]) -> None:
    project, out = packaged
    events = project.audit_log(action="model.package")
    assert [(e.details["agent"], e.details["agent_schedule"]) for e in events] == [
        ("cronjob", "*/5 * * * *"), ("deployment", None)]
    for event, (_, result) in zip(events, out.values(), strict=True):
        assert event.details["files"]["k8s/agent-" + str(result.agent) + ".yaml"] == \
            result.file(f"k8s/agent-{result.agent}.yaml").sha256


# --- the command line -----------------------------------------------------------------


@pytest.fixture
def proj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    with_package_command(monkeypatch)
    with Project.init(tmp_path / "proj", config_text=AUTOMATION) as project:
        deployed(project, "production")
        yield project


@pytest.fixture
def cli(proj: Project, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys, proj.root)


def test_agent_none_writes_the_server_alone_and_its_image_needs_no_lightgbm(
        cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    answer = only_json(cli.ok("package", "--env", "production", "-o", out, "--agent", "none",
                              "--json"))
    assert answer["agent"] is None and answer["agent_schedule"] is None
    assert answer["secret_keys"] == ["RASAD_DATABASE_URL"]
    assert not any(p.name.startswith("agent-") for p in (out / "k8s").iterdir())
    assert "lightgbm" not in pinned(out)
    assert "automation agent" not in (out / "README.md").read_text()


def test_the_command_says_how_the_agent_runs(cli: Cli, tmp_path: Path) -> None:
    shown = cli.ok("package", "--env", "production", "-o", tmp_path / "out",
                   "--agent-schedule", "0 */2 * * MON-FRI")
    assert ("The automation agent runs `rasad agent --once` as credit-production-agent on "
            "the schedule 0 */2 * * MON-FRI (UTC)") in " ".join(shown.out.split())
    assert "warning: automation.alerts.channels.log appends alerts" in shown.err
    cron = manifests(tmp_path / "out")["agent-cronjob.yaml"]
    assert cron["spec"]["schedule"] == "0 */2 * * MON-FRI"


@pytest.mark.parametrize(("args", "fragments"), [
    (["--agent", "daemonset"], ["--agent 'daemonset' is not one of cronjob, deployment, none"]),
    (["--agent", "CronJob"], ["--agent 'CronJob' is not one of"]),
    (["--agent-schedule", "*/5 * * *"], ["--agent-schedule '*/5 * * *' is not a five-field"]),
    (["--agent-schedule", "61 * * * *"], ["is not a five-field cron"]),
    (["--agent-schedule", "0 6 L * *"], ["is not a five-field cron"]),
    (["--agent-schedule", "0 6 * * MON#2"], ["is not a five-field cron"]),
    (["--agent-schedule", "*/5 * * * *\nfoo: bar"], ["is not a five-field cron"]),
    (["--agent-schedule", "*/5  * * * *"], ["is not a five-field cron"]),
    (["--agent", "deployment", "--agent-schedule", "0 * * * *"],
     ["--agent-schedule applies to the agent's CronJob", "a long-running agent"]),
    (["--agent", "none", "--agent-schedule", "0 * * * *"], ["no agent is written"]),
])
def test_a_bad_agent_option_is_refused_before_anything_is_written(
        cli: Cli, proj: Project, tmp_path: Path, args: list[str], fragments: list[str]) -> None:
    result = cli("package", "--env", "production", "-o", tmp_path / "out", *args)
    assert_user_error(result, *fragments)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]
    assert proj.audit_log(action="model.package") == []


@pytest.mark.parametrize(("variable", "fragment"), [
    ("OPS HOOK", "'OPS HOOK', which cannot be a key of the Secret"),
    ("1SECRET", "'1SECRET', which cannot be"),
    ("RASAD_USER", "'RASAD_USER', which cannot be"),
    ("RASAD_AGENT_POD", "not RASAD_AGENT_POD or RASAD_USER"),
])
def test_a_credential_variable_that_cannot_be_a_secret_key_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        variable: str, fragment: str) -> None:
    with_package_command(monkeypatch)
    text = AUTOMATION.replace("secret_env: OPS_HOOK_SECRET", f"secret_env: {variable!r}")
    with Project.init(tmp_path / "proj", config_text=text) as project:
        deployed(project, "production")
        result = Cli(capsys, project.root)("package", "--env", "production", "-o",
                                           tmp_path / "out")
        assert_user_error(result, "automation.alerts.channels.ops.secret_env", fragment)
        # Without the agent, the variable is not passed anywhere: nothing to refuse.
        Cli(capsys, project.root).ok("package", "--env", "production", "-o", tmp_path / "o2",
                                     "--agent", "none")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o2", "proj"]


@pytest.mark.parametrize(("path", "fragment"), [
    ("nosuchfs://bucket/*.csv", "uses nosuchfs://, which fsspec does not know"),
    ("dropbox://team/in/*.csv", "needs the fsspec implementation of dropbox://"),
])
def test_a_source_the_image_could_not_read_is_refused(
        tmp_path: Path, path: str, fragment: str) -> None:
    text = AUTOMATION.replace("path: incoming/*.csv", f"path: {path!r}")
    with Project.init(tmp_path / "proj", config_text=text) as project:
        deployed(project, "production")
        with pytest.raises(InputError, match="automation.sources.incoming.path") as caught:
            package(project.context, "production", tmp_path / "out")
        assert fragment in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]


def test_without_automation_no_agent_unless_asked(tmp_path: Path) -> None:
    from rasad.config import AutomationConfig, ProjectConfig
    from rasad.serving.packaging._agent import choose

    empty = AutomationConfig()
    watching = ProjectConfig.from_yaml_text(AUTOMATION).automation
    assert choose("auto", empty) is None and choose("auto", watching) is AgentKind.CRONJOB
    assert choose("cronjob", empty) is AgentKind.CRONJOB
    assert choose(AgentKind.DEPLOYMENT, watching) is AgentKind.DEPLOYMENT
    assert choose(None, watching) is None and choose("none", watching) is None
    # Only channels watching nothing is no reason for an agent.
    only_alerts = ProjectConfig.model_validate(
        {"name": "c", "automation": {"alerts": {"retries": 2}}}).automation
    assert choose("auto", only_alerts) is None


@pytest.mark.parametrize(("field", "value"), [
    ("agent_schedule", "@hourly"), ("agent_schedule", "0 6 * * MON#2"),
    ("agent_memory_limit", "4 GB"), ("agent_tmp_size", "lots"), ("agent_health_port", 0),
    ("agent_backoff_limit", -1), ("agent_pass_deadline_seconds", 0),
])
def test_a_bad_agent_policy_is_refused_when_built(field: str, value: object) -> None:
    with pytest.raises(InputError, match=f"PackagePolicy.{field}"):
        PackagePolicy(**{field: value})  # type: ignore[arg-type]


def test_a_schedule_both_croniter_and_kubernetes_read_is_accepted() -> None:
    for schedule in ("*/5 * * * *", "0 6 * * MON-FRI", "15 2 1,15 JAN,JUL *", "0 */2 * * 0"):
        assert PackagePolicy(agent_schedule=schedule).agent_schedule == schedule


def test_the_cronjob_in_the_document_is_the_yaml_written(
        packaged: tuple[Project, dict[str, tuple[Path, PackageResult]]]) -> None:
    # One document per file, with the header comment naming the check.
    text = (packaged[1]["cronjob"][0] / "k8s" / "agent-cronjob.yaml").read_text()
    assert text.startswith("# Written by `rasad package --env production`")
    assert "checked against Kubernetes 1.30" in text.splitlines()[0]
    assert len([d for d in yaml.safe_load_all(text) if d]) == 1
