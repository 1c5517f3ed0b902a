"""Packaging the prediction server: a container build context and Kubernetes manifests.

``rasad package --env ENV -o DIR`` (:func:`package`) writes what it takes to run
``rasad serve --env ENV`` in a cluster: a pinned ``requirements.txt`` holding only what
the deployed models need, a hardened ``Dockerfile``, and manifests checked against the
Kubernetes schemas; with them, the automation agent's CronJob or Deployment
(``agent=``, :class:`AgentKind`). See docs/packaging.md.
"""

from rasad.serving.packaging._agent import AgentKind
from rasad.serving.packaging.policy import DEFAULT_POLICY, PackagePolicy
from rasad.serving.packaging.result import PackagedFile, PackagedModel, PackageResult
from rasad.serving.packaging.service import package

__all__ = ["DEFAULT_POLICY", "AgentKind", "PackagePolicy", "PackageResult", "PackagedFile",
           "PackagedModel", "package"]
