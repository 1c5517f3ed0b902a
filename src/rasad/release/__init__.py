"""Governed promotion: policy gates, promotion requests, approvals and break-glass.

A version reaches an environment only through :func:`rasad.release.service.promote`:
it runs the environment's gates (:mod:`rasad.release.gates`) on declared data, stores
their evidence, and then either deploys (no approval needed) or opens a request that
people other than its makers approve (:mod:`rasad.release.service`).

This package sits above ``registry``, ``validation``, ``monitoring`` and
``governance``: its gates call their services (the fairness gate the fairness engine,
the validation gate the schema checks), which themselves import the registry, so the
gates could not live inside ``registry`` without an import cycle. ``registry`` keeps
the deploy step (:mod:`rasad.registry.promotion`) that everything here ends in.
"""

__all__: list[str] = []
