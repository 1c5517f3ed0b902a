"""The ``Dockerfile`` and ``.dockerignore`` of the serving image.

One stage on the slim Debian image of the Python that ran ``rasad package`` (tag pinned
to the patch release: the pinned wheels were resolved for it), a fixed non-root user,
``pip install --no-cache-dir -r requirements.txt``, the configuration without storage,
and nothing secret: the database URL arrives in the environment at run time. The
``HEALTHCHECK`` asks the server's readiness endpoint with Python's ``urllib`` (the slim
image has no curl). The text passes hadolint without findings (tested).
"""

from __future__ import annotations

import json
import platform
import re

from rasad.errors import InputError

_NAME = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REFERENCE = re.compile(
    rf"(?P<repository>(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d+)?/)?"
    rf"{_NAME}(?:/{_NAME})*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?")
"""An image reference: [registry[:port]/]name[/name...][:tag][@sha256:digest]."""

WORKDIR = "/srv/rasad"
HEALTH_PATH = "/v2/health/ready"


def default_base_image() -> str:
    """The slim Debian bookworm image of the running Python, pinned to its patch release.

    >>> default_base_image().endswith("-slim-bookworm")
    True
    """
    return f"python:{platform.python_version()}-slim-bookworm"


def check_image(reference: str, what: str, *, digest_allowed: bool) -> str:
    """``reference`` if it names an image by tag (or digest), never ``latest``.

    >>> check_image("registry.example:5000/team/credit:1.4", "--image", digest_allowed=False)
    'registry.example:5000/team/credit:1.4'
    >>> check_image("credit", "--image", digest_allowed=False)
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: --image 'credit' has no tag; name the image with a version, \
as in credit:1.0 (latest is refused: a pod would run whatever it points to that day).
    """
    match = _REFERENCE.fullmatch(reference)
    if match is None or (match["digest"] and not digest_allowed):
        shape = ("[REGISTRY/]NAME:TAG or NAME:TAG@sha256:DIGEST" if digest_allowed
                 else "[REGISTRY/]NAME:TAG")
        raise InputError(f"{what} {reference!r} is not an image reference; write it as "
                         f"{shape}, lowercase, as in registry.example/team/credit:1.0.")
    if match["tag"] is None and match["digest"] is None or match["tag"] == "latest":
        problem = "has no tag" if match["tag"] is None else "is tagged latest"
        raise InputError(f"{what} {reference!r} {problem}; name the image with a version, "
                         f"as in {match['repository']}:1.0 (latest is refused: a pod would "
                         "run whatever it points to that day).")
    return reference


def check_base_python(reference: str) -> str | None:
    """A warning when ``reference`` may not run the Python the pins were resolved for.

    >>> check_base_python(default_base_image()) is None
    True
    >>> check_base_python("python:2.7-slim")[:40]
    'The base image python:2.7-slim runs Pyth'
    """
    match = _REFERENCE.fullmatch(reference)
    running = ".".join(platform.python_version_tuple()[:2])
    if match is None:
        return None
    repository, tag = match["repository"], match["tag"] or ""
    if repository.rsplit("/", 1)[-1] == "python" and repository.count("/") <= 1:
        version = re.match(r"(\d+)\.(\d+)", tag)
        if version and f"{version[1]}.{version[2]}" != running:
            return (f"The base image {reference} runs Python {version[1]}.{version[2]}, but "
                    f"the pins were resolved on Python {running}: compiled wheels may not "
                    f"install; use a python:{running}.x image.")
        return None
    return (f"The base image {reference} is not the official python image: make sure it "
            f"runs Python {running} with pip, or the pinned wheels may not install.")


def dockerfile(*, env: str, port: int, base_image: str, uid: int, has_wheels: bool,
               rasad_version: str, agent: str | None = None) -> str:
    """The Dockerfile text (see the module). ``agent`` (``cronjob`` or ``deployment``): the
    automation agent runs from the image too, its manifest replacing the entry point.

    >>> text = dockerfile(env="production", port=8080, base_image="python:3.11.7-slim-bookworm",
    ...                   uid=10001, has_wheels=False, rasad_version="0.1.0")
    >>> print(text.splitlines()[-1])
    ENTRYPOINT ["rasad", "serve", "--env", "production", "--host", "0.0.0.0", "--port", "8080"]
    """
    entrypoint = json.dumps(["rasad", "serve", "--env", env, "--host", "0.0.0.0",
                             "--port", str(port)])
    probe = ("import sys, urllib.request; sys.exit(urllib.request.urlopen("
             f"'http://127.0.0.1:{port}{HEALTH_PATH}', timeout=4).status != 200)")
    healthcheck = json.dumps(["python", "-c", probe])
    wheels = "COPY wheels/ ./wheels/\n" if has_wheels else ""
    agent_note = "" if agent is None else (
        "# The automation agent runs from this image too: k8s/agent-"
        f"{agent}.yaml replaces the\n# entry point with `rasad agent`.\n")
    return f"""\
# The prediction server of the {env} environment: `rasad serve --env {env}`.
# Written by `rasad package` (rasad {rasad_version}). Build: docker build -t IMAGE .
# The base is pinned to a patch release; pin its digest as well for a byte-identical
# base (FROM image:tag@sha256:..., see docs/packaging.md). No secret is baked in: the
# database URL comes from the environment at run time (RASAD_DATABASE_URL).
{agent_note}FROM {base_image}

# No bytecode written at run time (the root filesystem is read-only in the cluster);
# libraries that cache under $HOME write to /tmp, an emptyDir there.
ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    PIP_ROOT_USER_ACTION=ignore \\
    HOME=/tmp

RUN groupadd --gid {uid} rasad \\
    && useradd --uid {uid} --gid {uid} --no-create-home --home-dir /nonexistent \\
        --shell /usr/sbin/nologin rasad

WORKDIR {WORKDIR}
COPY requirements.txt ./
{wheels}RUN pip install --no-cache-dir -r requirements.txt
# The project's configuration without storage URLs; `rasad serve` finds it here.
COPY rasad.yaml ./

USER {uid}:{uid}
EXPOSE {port}
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \\
    CMD {healthcheck}
ENTRYPOINT {entrypoint}
"""


def dockerignore(*, has_wheels: bool) -> str:
    """Only what the Dockerfile copies goes into the build context (never the manifests,
    nor a secrets file someone may put beside them)."""
    wheels = "!wheels/\n!wheels/*.whl\n" if has_wheels else ""
    return f"""\
# Everything is left out of the build context except what the Dockerfile copies.
*
!requirements.txt
!rasad.yaml
{wheels}"""


__all__ = ["HEALTH_PATH", "WORKDIR", "check_base_python", "check_image", "default_base_image",
           "dockerfile", "dockerignore"]
