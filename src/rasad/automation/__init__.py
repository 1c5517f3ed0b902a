"""The automation loop: sources, monitors, alerts, the retraining pipeline and the agent.

``rasad agent`` (docs/automation.md) watches what ``automation:`` in ``rasad.yaml``
declares: files arriving for a dataset, the prediction log with its feedback. It ingests
each new file once, runs the monitors when they are due, raises alerts (deduplicated,
retried, their delivery recorded) and retrains through the same validated, gated and
approved path a person would take. Several agents may run at once: each piece of work is
claimed by one of them for a lease (:mod:`rasad.automation.claims`).

Its services are imported by module, like the other service packages:
:mod:`~rasad.automation.claims` (leases on work), :mod:`~rasad.automation.sources`
(arriving files, the prediction log), :mod:`~rasad.automation.monitors`,
:mod:`~rasad.automation.alerts` and :mod:`~rasad.automation.channels` (raising and
delivering alerts), :mod:`~rasad.automation.pipeline` (retraining),
:mod:`~rasad.automation.agent` (one pass, or a long-running agent) and
:mod:`~rasad.automation.status`.

This package sits above ``release`` (a retrained candidate is put up for promotion
through its governed flow) and ``serving`` (the prediction log is a source), and below
the facade and the doors.
"""

__all__: list[str] = []
