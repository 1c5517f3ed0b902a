"""Governance: fairness now; model cards, datasheets, erasure and compliance evidence later.

:mod:`rasad.governance.fairness` assesses a classifier's fairness across groups, with
bootstrap intervals and verdicts that respect the uncertainty of small groups. It is
pure computation and needs no project.
"""

from rasad.governance.fairness import FairnessPolicy, FairnessReport, Verdict, assess

__all__ = ["FairnessPolicy", "FairnessReport", "Verdict", "assess"]
