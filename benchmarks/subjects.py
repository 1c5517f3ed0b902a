"""``rasad subject find`` on a 1,000,000-row dataset with an id index, and the erasure.

    .venv/bin/python benchmarks/subjects.py --rows 1000000 --repeats 7

A dataset of ``--rows`` rows (a subject-id column ``customer_id``, ``C-0000000`` ...,
and four numeric columns) is added to a fresh project whose ``rasad.yaml`` declares the
column. Measured: the first find (it builds and stores the id index), the median of
``--repeats`` finds of random present ids once indexed (each reads the index blob and
checks its hash, then a binary search), and one erasure (reads the version, writes the
version without the subject and its index, all in one transaction). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from _common import emit, median  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    from rasad import Project

    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"customer_id": [f"C-{i:07d}" for i in range(args.rows)],
                          **{f"x{j}": rng.normal(size=args.rows) for j in range(4)}})
    with tempfile.TemporaryDirectory() as tmp:
        with Project.init(Path(tmp) / "p", name="bench") as made:
            config = yaml.safe_load((made.root / "rasad.yaml").read_text(encoding="utf-8"))
            config.setdefault("governance", {})["datasets"] = {
                "people": {"subject_columns": ["customer_id"]}}
            (made.root / "rasad.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        with Project.open(made.root) as project:
            project.add_dataset(frame, "people")
            t = time.perf_counter()
            first = project.subject_find("C-0000001")
            build = time.perf_counter() - t
            assert first.indexes_built == 1 and first.versions[0].matches == 1
            finds = []
            for i in rng.integers(0, args.rows, size=args.repeats):
                t = time.perf_counter()
                found = project.subject_find(f"C-{i:07d}")
                finds.append(time.perf_counter() - t)
                assert found.versions[0].matches == 1 and found.indexes_built == 0
            t = time.perf_counter()
            erased = project.subject_erase("C-0000002", reason="benchmark")
            erase = time.perf_counter() - t
            assert erased.versions[0].replaced_by == "people@2"
    emit({"benchmark": "subjects", "rows": args.rows,
          "first_find_with_index_build_s": round(build, 3),
          "find_median_s": round(median(finds), 4), "find_repeats": args.repeats,
          "erase_s": round(erase, 3)})


if __name__ == "__main__":
    main()
