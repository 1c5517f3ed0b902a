"""Governance: fairness, datasheets and the model inventory; model cards, erasure and
compliance evidence later.

:mod:`rasad.governance.fairness` assesses a classifier's fairness across groups, with
bootstrap intervals and verdicts that respect the uncertainty of small groups. It is
pure computation and needs no project. :mod:`rasad.governance.datasheet` writes a dataset
version's datasheet from what the project holds; :mod:`rasad.governance.inventory` holds
the model inventory's types (the service that fills it reads the automation tables, so it
lives in :mod:`rasad.automation.inventory`).
"""

from rasad.governance.fairness import FairnessPolicy, FairnessReport, Verdict, assess

__all__ = ["FairnessPolicy", "FairnessReport", "Verdict", "assess"]
