"""The ``README.md`` of a package folder: build, push, create the Secret, apply, call.

Names that come from users (the project, models) are shown in code spans with backticks
removed, so they cannot break out of the formatting.
"""

from __future__ import annotations

import shlex

from rasad.serving.packaging._agent import HEALTHZ, AgentKind, AgentSpec
from rasad.serving.packaging._manifests import K8S_DIR, ServingSpec
from rasad.serving.packaging.result import PackagedModel


def _code(text: str) -> str:
    return "`" + " ".join(text.replace("`", "'").split()) + "`"


def _agent_section(agent: AgentSpec) -> str:
    name, principal = agent.name, agent.principal
    own = [key for key in agent.secret_keys if key not in agent.serving.secret_keys]
    if agent.kind is AgentKind.CRONJOB:
        how = f"""\
`{K8S_DIR}/agent-cronjob.yaml` runs `rasad agent --once` from the same image on the
schedule `{agent.schedule}` (UTC): one pass over due work (new files, due monitors,
triggers, alert deliveries) per run. A run still going when the next is due makes that
one wait (`concurrencyPolicy: Forbid`). To run a pass now, and read what it did:

```console
kubectl create job --from=cronjob/{name} {name}-now
kubectl logs -f job/{name}-now
```"""
    else:
        how = f"""\
`{K8S_DIR}/agent-deployment.yaml` runs one long-running `rasad agent --health-port
{agent.serving.policy.agent_health_port}` from the same image, probed on `{HEALTHZ}`; it passes
over due work every `automation.agent.interval_seconds`.

```console
kubectl rollout status deployment/{name}
kubectl logs -f deployment/{name}
```"""
    keys = ("\n\nIt reads " + ", ".join(f"`{k}`" for k in own) + " from the Secret too (step "
            "2), as rasad.yaml names them." if own else "")
    return f"""
## 5. The automation agent

{how}

It acts as `{principal}` (`RASAD_USER`), each pod passing its own name as `--owner`, so
several agents never do the same work twice. On a project with principals, create it
once with the roles its work needs (ingest and retrain, request a promotion):

```console
rasad users add {principal} --service --role data_scientist --role deployer
```{keys}
"""


def readme(*, spec: ServingSpec, models: list[PackagedModel], files: list[str],
           secrets: dict[str, str], anonymous: bool, warnings: list[str],
           agent: AgentSpec | None = None) -> str:
    """The README text. ``secrets`` maps each key of the Secret to the ``kubectl create
    secret`` option that fills it (never a value); ``agent``: the automation agent's
    manifest is written too."""
    name, env, port, image = spec.name, spec.env, spec.port, spec.image
    served = "\n".join(f"- {_code(m.described)}: {', '.join(m.libraries)}" for m in models)
    keys = " \\\n".join(f"  {option}" for option in secrets.values())
    model = models[0].name
    auth = "" if anonymous else ' \\\n  -H "Authorization: Bearer $RASAD_PREDICT_TOKEN"'
    notes = "".join(f"- {' '.join(w.split())}\n" for w in warnings)
    listing = "\n".join(f"- `{path}`" for path in files)
    agent_listed = "" if agent is None else (
        ", and the automation agent's " + ("CronJob" if agent.kind is AgentKind.CRONJOB
                                            else "Deployment") + " (step 5)")
    agent_text = "" if agent is None else _agent_section(agent)
    exports = "\n".join([*(f"export {key}={shlex.quote(value)}"
                            for key, value in spec.config.items()),
                          *(f"export {key}='...'" for key in spec.secret_keys)])
    return f"""\
# The prediction server of the {_code(env)} environment

Written by `rasad package --env {env}` for the project {_code(spec.project)}. The image
runs `rasad serve --env {env}` on port {port}: Open Inference Protocol at
`/v2/models/NAME/infer`, health at `/v2/health/live` and `/v2/health/ready`, Prometheus
metrics at `/metrics`. It serves the versions deployed to {_code(env)} when it starts and
follows promotions and rollbacks without a restart. Deployed now:

{served}

**The image has not been built.** `rasad package` ran where there is no Docker engine, so
it wrote the build context and checked it (the Dockerfile with hadolint in rasad's tests,
every manifest against the Kubernetes {spec.policy.kubernetes_version} schemas), but did not
build or run an image. Build it where Docker (or another OCI builder) runs.

Package again when a promotion brings a model made with a library not listed above, or
after upgrading rasad: the image installs exactly the versions pinned in
`requirements.txt`.

## 1. Build and push the image

```console
docker build -t {image} .
docker push {image}
```

To push under another name, package again with `--image REGISTRY/NAME:TAG`, or run
`kustomize edit set image {image}=REGISTRY/NAME:TAG` in `{K8S_DIR}/`.

## 2. Create the Secret

The database URL (with its password) is never written into this folder or the image. Give
it to the cluster directly, not through a file kept in version control:

```console
kubectl create secret generic {spec.secret_name} \\
{keys}
```

Every key of that Secret, and of the ConfigMap `{spec.config_name}`
(`{K8S_DIR}/configmap.yaml`), becomes an environment variable of the server: add
credentials the artifact store needs (such as `AWS_ACCESS_KEY_ID` and
`AWS_SECRET_ACCESS_KEY` for `s3://`) to the Secret the same way. A pod does not start
until the Secret exists.

## 3. Apply the manifests

```console
kubectl apply -k {K8S_DIR}/
kubectl rollout status deployment/{name}
```

`{K8S_DIR}/` holds the ConfigMap, the Deployment (non-root, read-only root filesystem,
probes on the health endpoints), the Service, a HorizontalPodAutoscaler
({spec.replicas} to {spec.policy.max_replicas(spec.replicas)} pods on CPU) and a
PodDisruptionBudget{agent_listed}, listed in `kustomization.yaml`. Set a namespace with
`kubectl apply -k {K8S_DIR}/ -n NAMESPACE` or `kustomize edit set namespace NAMESPACE`.

## 4. Call it

```console
kubectl port-forward service/{name} {port}:{port}
curl -s http://127.0.0.1:{port}/v2/health/ready
curl -s http://127.0.0.1:{port}/v2/models/{model}/infer{auth} \\
  -H "Content-Type: application/json" \\
  -d '{{"inputs": [...]}}'
```

{"The environment answers without a token (serving.environments in rasad.yaml)." if anonymous
 else "Requests need an API token of a principal allowed to predict (docs/serving.md)."}
{agent_text}
## Without a cluster

The image's entry point runs in any virtual environment, from this folder:

```console
python -m venv .venv
.venv/bin/pip install -r requirements.txt
{exports}
.venv/bin/rasad serve --env {env} --host 127.0.0.1 --port {port}
```

## Notes

{notes or "- none"}
## Files

{listing}
"""


__all__ = ["readme"]
