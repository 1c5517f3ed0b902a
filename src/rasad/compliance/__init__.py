"""Compliance documents built from everything rasad records: model cards and evidence packs.

They read the release records (gate reports, approvals), the automation loop and the
monitors, so they sit above ``release`` and ``automation``; ``governance`` holds what the
layers below need (fairness, datasheets, data subjects, the card's completeness rules), and
``release`` imports ``governance``, so a card in ``governance`` would close a cycle.
"""

__all__: list[str] = []
