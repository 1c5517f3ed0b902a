"""Remote mode: the client of ``rasad server`` and :class:`RemoteProject`, the Project verbs
the management API serves, for ``Project.connect(url, token)`` and the CLI with
``RASAD_URL`` and ``RASAD_TOKEN`` set (docs/api.md, "Remote mode").

It sits between the facade and the services: it speaks HTTP and rebuilds the services'
typed results, and never opens a database.
"""

from rasad.remote._runs import RemoteRun
from rasad.remote.client import Client
from rasad.remote.project import RemoteProject

__all__ = ["Client", "RemoteProject", "RemoteRun"]
