"""The ``rasad.yaml`` baked into the image: the project's configuration without storage.

The server needs the project's settings (environments, serving, trust decisions) but
never the local storage URLs: the database URL and its password come from the Secret at
run time, the artifact store from the ConfigMap. Any other value that carries a password
in a URL is refused rather than copied into an image.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from rasad.config import CONFIG_FILE, ProjectConfig, redact_url
from rasad.errors import InputError


def _strings(value: Any, key: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{key}[{i}]")


def image_config(config: ProjectConfig, header: str) -> str:
    """``config`` as YAML for the image: storage left to the environment, defaults omitted.

    Raises
    ------
    InputError
        A value other than the storage URLs holds a password in a URL.

    Examples
    --------
    >>> config = ProjectConfig.model_validate({"name": "credit", "storage": {
    ...     "database_url": "postgresql+psycopg://rasad:s3cr3t@db/rasad"}})
    >>> print(image_config(config, "# for the image"))
    # for the image
    name: credit
    <BLANKLINE>
    >>> image_config(ProjectConfig.model_validate(
    ...     {"name": "c", "audit": {"checkpoints": "sftp://me:pw@host/ckpt"}}), "")
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: rasad.yaml: audit.checkpoints holds a password in a URL, which \
would be copied into the image; give the credential to that service another way (an \
environment variable or a credentials file), then package again.
    """
    data = config.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data.pop("storage", None)
    for key, value in _strings(data, ""):
        if redact_url(value) != value:
            raise InputError(
                f"{CONFIG_FILE}: {key} holds a password in a URL, which would be copied into "
                "the image; give the credential to that service another way (an "
                "environment variable or a credentials file), then package again.")
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
    # The copy must mean what the project's file means (storage aside), or the server
    # would run with other settings than the ones checked here.
    reloaded = ProjectConfig.from_yaml_text(text, CONFIG_FILE)
    if reloaded.model_dump(exclude={"storage"}) != config.model_dump(exclude={"storage"}):
        raise RuntimeError("rasad.yaml does not survive a copy without storage; this is a "
                           "bug in rasad package, please report it.")
    return f"{header}\n{text}" if header else text


__all__ = ["image_config"]
