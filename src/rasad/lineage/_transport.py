"""The ``openlineage-python`` transport that ``rasad.yaml``'s ``lineage`` section names.

The transports are the client's own (``HttpTransport``, ``FileTransport``), built from
rasad's configuration alone and called directly rather than through
``OpenLineageClient``: the client would also read ``OPENLINEAGE__*`` variables, an
``openlineage.yml`` in the working folder or the home folder, and the git remote of the
working folder, and add what it finds to every event. A compliance product sends what its
own configuration says and nothing it picked up from where a command happened to run
(STYLE.md, "Telemetry: none"), and a replay must send what the first emission sent.

This module imports the client at the top: import it only once the client is known to be
installed (:func:`rasad.lineage.Emitter.from_config` turns its absence into a clear error).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Final

from openlineage.client.serde import Serde
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpConfig,
    HttpTransport,
    TokenProvider,
)
from openlineage.client.transport.transport import Transport

from rasad.errors import ConfigError

if TYPE_CHECKING:
    from openlineage.client.client import Event

    from rasad.config import LineageConfig

log = logging.getLogger("rasad.lineage")

# Fewer and shorter retries than the client's default (5, backoff 0.3 s): an emission runs
# after a change has committed, in the command or request that made it, so an endpoint
# that refuses connections costs that command a quarter of a second, and a host that does
# not answer at most three times `timeout`; `rasad lineage emit` resends what did not arrive.
RETRY: Final = {"total": 2, "connect": 2, "read": 2, "backoff_factor": 0.1,
                "status_forcelist": [500, 502, 503, 504], "allowed_methods": ["POST"]}


class LogTransport(Transport):
    """The ``console`` transport: each event as one JSON line on the ``rasad.lineage``
    logger at INFO, which the ``rasad`` command shows on stderr.

    The client's ``ConsoleTransport`` logs on the ``openlineage`` logger instead, which a
    command line does not show unless its user configures Python logging.
    """

    kind = "console"

    def emit(self, event: Event) -> None:
        log.info("OpenLineage event: %s", Serde.to_json(event))


def build_transport(config: LineageConfig, root: Path) -> tuple[Transport, tuple[str, ...]]:
    """The transport ``config`` names (``root`` anchors a relative ``path``), and the
    secrets it holds, which no message may show.

    Raises
    ------
    ConfigError
        ``api_key_env`` names a variable that is not set (the message names the variable,
        never a value), or the transport is ``none``.
    """
    if config.transport == "http":
        assert config.url is not None  # LineageConfig requires it for http
        auth: TokenProvider = TokenProvider({})
        secrets: tuple[str, ...] = ()
        if config.api_key_env:
            key = os.environ.get(config.api_key_env)
            if not key:
                raise ConfigError(
                    f"lineage.api_key_env in rasad.yaml names {config.api_key_env}, which is "
                    f"not set: export {config.api_key_env} with the lineage endpoint's API "
                    "key, or remove api_key_env.")
            auth, secrets = ApiKeyTokenProvider({"api_key": key}), (key,)
        return HttpTransport(HttpConfig(url=config.url, endpoint=config.endpoint,
                                        timeout=config.timeout, auth=auth,
                                        retry=dict(RETRY))), secrets
    if config.transport == "file":
        assert config.path is not None  # LineageConfig requires it for file
        path = config.path
        if "://" not in path:
            local = Path(path).expanduser()
            local = local if local.is_absolute() else root / local
            local.parent.mkdir(parents=True, exist_ok=True)
            path = str(local)
        return FileTransport(FileConfig(log_file_path=path, append=True)), ()
    if config.transport == "console":
        return LogTransport(), ()
    raise ConfigError(f"lineage.transport is {config.transport!r} in rasad.yaml, so nothing "
                      "is sent: set it to http (with url), file (with path) or console.")
