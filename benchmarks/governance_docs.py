"""Model card, datasheet and evidence pack generation time on the demo project.

    .venv/bin/python benchmarks/governance_docs.py [--repeats 3] [--rows-per-month 2000]
        [--regulation ../shared/research/regulation.md]

Builds the demo project once (:func:`rasad.demo.run_demo`: six months of loans, a trained
and registered model promoted through dev, staging and production with an approval, a
scored month, a drift check), then times, median of ``--repeats``:

- ``card``: :func:`rasad.compliance.card.model_card` of the demo model and its Markdown;
- ``datasheet``: :meth:`rasad.Project.datasheet` of the training data and its Markdown;
- ``evidence``: a whole signed ``gdpr`` pack (:meth:`rasad.Project.evidence`, into a fresh
  folder each time), and its verification.

Prints one JSON line, with what each pack found (statuses per control), so a fast run that
gathered less does not pass unnoticed. With ``--regulation PATH`` it also checks that every
control of every catalogue cites an ID and title found on one table row of that research
document, not marked UNVERIFIED (``catalogue_check``: the rows that fail, none expected).
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from base64 import b64encode
from pathlib import Path
from typing import Any

from _common import emit, median


def check_catalogues(path: Path) -> dict[str, Any]:
    """Every catalogue row against the research document's table rows."""
    from rasad.compliance.controls import frameworks, load_catalogue

    rows = [line.replace("**", "") for line in path.read_text(encoding="utf-8").splitlines()
            if line.startswith("|")]
    failed, checked = [], 0
    for framework in frameworks():
        for control in load_catalogue(framework):
            checked += 1
            number = control.id.removeprefix("PDPL ")
            first = re.split(r" / | \+ ", number)[0]
            found = [r for r in rows if control.title in r and first in r.split("|")[1]]
            if not found or all("UNVERIFIED" in r for r in found):
                failed.append(f"{framework} {control.id}")
    return {"checked": checked, "failed": failed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows-per-month", type=int, default=2000)
    parser.add_argument("--regulation", type=Path, default=None)
    args = parser.parse_args()

    import os

    from rasad import Project
    from rasad.compliance.card import model_card
    from rasad.demo import run_demo

    os.environ["RASAD_CHECKPOINT_KEY"] = b64encode(bytes(range(32))).decode()  # this run only
    card_s, sheet_s, pack_s, verify_s, found = [], [], [], [], {}
    with tempfile.TemporaryDirectory() as tmp:
        summary = run_demo(Path(tmp) / "demo", rows_per_month=args.rows_per_month)
        name, _, version = summary.model.partition("@")
        dataset, _, data_version = summary.dataset.partition("@")
        with Project.open(summary.project_dir) as project:
            for i in range(args.repeats):
                started = time.perf_counter()
                card = model_card(project.context, name, int(version))
                card.to_markdown()
                card_s.append(time.perf_counter() - started)

                started = time.perf_counter()
                sheet = project.datasheet(dataset, int(data_version))
                sheet.to_markdown()
                sheet_s.append(time.perf_counter() - started)

                started = time.perf_counter()
                pack = project.evidence("gdpr", Path(tmp) / f"pack{i}")
                pack_s.append(time.perf_counter() - started)
                started = time.perf_counter()
                verified = project.verify_evidence(Path(tmp) / f"pack{i}",
                                                   public_keys=[_public()])
                verify_s.append(time.perf_counter() - started)
                found = {"files": len(pack.files), "verified": verified.ok,
                         "statuses": {c.id: c.status.value for c in pack.controls}}
    line: dict[str, Any] = {
        "bench": "governance_docs", "repeats": args.repeats,
        "rows_per_month": args.rows_per_month, "model": summary.model,
        "dataset": summary.dataset, "card_s": median(card_s), "datasheet_s": median(sheet_s),
        "evidence_s": median(pack_s), "evidence_verify_s": median(verify_s),
        "runs": {"card_s": card_s, "datasheet_s": sheet_s, "evidence_s": pack_s},
        "pack": found}
    if args.regulation is not None:
        line["catalogue_check"] = check_catalogues(args.regulation)
    emit(line)


def _public() -> str:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from rasad.ledger.keys import public_key_text

    return public_key_text(Ed25519PrivateKey.from_private_bytes(bytes(range(32))).public_key())


if __name__ == "__main__":
    main()
