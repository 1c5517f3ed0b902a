"""``rasad serve``: the prediction server (Open Inference Protocol and MLflow) on uvicorn."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from rasad.cli._context import state
from rasad.cli._output import clean, err_console
from rasad.errors import InputError

WORKER_APP = "rasad.serving.online.app:app_from_environment"
GRACE_SECONDS = 30
"""How long a stopping server lets in-flight requests finish before closing them."""


def serve(
    ctx: typer.Context,
    env: Annotated[str | None, typer.Option(
        "--env", help="Environment whose deployed models are served (default: the last one, "
                      "production).")] = None,
    model: Annotated[list[str] | None, typer.Option(
        "--model", help="Serve only this model (repeat for several; default: every model "
                        "deployed to the environment).")] = None,
    host: Annotated[str, typer.Option(
        help="Address to listen on; 0.0.0.0 for every interface (put TLS in front).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port (0: any free one).")]
    = 8080,
    workers: Annotated[int, typer.Option(
        min=1, max=64, help="Worker processes (each loads the models; metrics are added up "
                            "across them).")] = 1,
) -> None:
    """Serve the models deployed to an environment over HTTP: Open Inference Protocol V2
    and MLflow scoring.

    Routes: /v2/models/NAME/infer, /invocations, /v2/models/NAME/feedback, health and
    metadata under /v2, /ping, /metrics (Prometheus), /openapi.json. Requests need an API
    token with the predict permission (`rasad tokens create NAME --role predictor`) unless
    serving.environments.ENV.anonymous is true. Promotions and rollbacks are picked up
    while serving; every prediction goes to the prediction log. Stop with Ctrl-C or
    SIGTERM: requests in flight finish and the log is flushed. See docs/serving.md.
    """
    # Imported here: `rasad --help` must not load FastAPI, uvicorn or scikit-learn.
    try:
        import orjson  # noqa: F401
        import prometheus_client  # noqa: F401
        import uvicorn  # noqa: F401

        from rasad.serving.online.metrics import configure_logging
    except ImportError as exc:
        raise InputError(f"`rasad serve` needs the serve extra ({exc.name} is not installed): "
                         "pip install 'rasad[serve]'.") from exc

    project = state(ctx).project()  # finds the project and checks its database is current
    root = project.root
    chosen = env or project.config.registry.environments[-1]
    names = list(dict.fromkeys(model or []))
    settings: dict[str, Any] = {
        "host": host, "port": port, "server_header": False, "access_log": False,
        "proxy_headers": False, "log_level": "warning", "timeout_graceful_shutdown": GRACE_SECONDS}
    restore = configure_logging()  # undone on the way out: `run` may be called in process
    try:
        _run(project, root, chosen, names, workers, settings)
    finally:
        restore()


def _run(project: Any, root: Path, chosen: str, names: list[str], workers: int,
         settings: dict[str, Any]) -> None:
    import uvicorn

    from rasad.serving.online import app as online
    from rasad.serving.online.metrics import MULTIPROC_ENV

    if workers == 1:
        project.close()  # the server opens its own connections
        app = online.create_app(root, env=chosen, models=names)
        served = app.state.server.served.entries
        listing = [f"{name}@{entry.primary.number}" for name, entry in sorted(served.items())]
        _announce(project.config.name, chosen, listing, host=settings["host"],
                  port=settings["port"], workers=workers)
        uvicorn.run(app, **settings)
        return
    # Several workers: each process imports the app factory and loads the models itself.
    # Check here first, so a wrong name or an empty environment is one clear error
    # (exit 2) rather than N workers failing.
    from rasad.serving.online.models import ServedModels

    listed = ServedModels(project.context, chosen, names).check()
    project.close()
    folder = tempfile.mkdtemp(prefix="rasad-serve-metrics-")
    os.environ.update({online.ENV_ROOT: str(root), online.ENV_ENVIRONMENT: chosen,
                       online.ENV_MODELS: ",".join(names), MULTIPROC_ENV: folder})
    try:
        _announce(project.config.name, chosen, listed, host=settings["host"],
                  port=settings["port"], workers=workers)
        uvicorn.run(WORKER_APP, factory=True, workers=workers, **settings)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _announce(project: str, env: str, models: list[str], *, host: str, port: int,
              workers: int) -> None:
    err_console().print(
        f"Serving {', '.join(clean(m) for m in models)} of project {clean(project)} "
        f"({clean(env)}) at http://{clean(host)}:{port} with {workers} worker"
        f"{'s' if workers > 1 else ''}: /v2/models/NAME/infer, /invocations, /metrics, "
        "/docs.", highlight=False)
