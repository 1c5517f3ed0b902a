"""The control catalogues evidence packs are mapped to: data, one YAML file per framework.

Each ``<framework>.yaml`` in this package lists the controls (articles, control IDs) of one
framework whose ID and title were verified in rasad's regulatory research, what evidence
each one expects, and which kinds of evidence rasad holds for it (:class:`EvidenceKind`).
A control rasad cannot evidence is listed too, with the reason (``beyond``), so an auditor
sees the whole framework and what must come from elsewhere. A new framework is a new file;
no code changes. :func:`load_catalogue` validates a file and names what is wrong with it.

Pure: YAML and pydantic, nothing that touches a project.

>>> catalogue = load_catalogue("sama-csf")
>>> control = catalogue.control("3.3.7")
>>> control.title, [str(k) for k in control.evidence]
('Change Management', ['approvals', 'gate_reports', 'deployments'])
>>> "gdpr" in frameworks()
True
"""

from rasad.compliance.controls._catalogue import (
    Catalogue,
    Control,
    EvidenceKind,
    frameworks,
    load_catalogue,
    parse_catalogue,
)

__all__ = ["Catalogue", "Control", "EvidenceKind", "frameworks", "load_catalogue",
           "parse_catalogue"]
