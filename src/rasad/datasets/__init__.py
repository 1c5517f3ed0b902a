"""Dataset versions: immutable, content-addressed snapshots with kinds and profiles.

Reading tables, column kinds and profiles are pure helpers in :mod:`rasad.tables`;
this package stores and finds versions (:mod:`rasad.datasets.service`).
"""

from rasad.datasets.version import AddResult, DatasetVersion

__all__ = ["AddResult", "DatasetVersion"]
