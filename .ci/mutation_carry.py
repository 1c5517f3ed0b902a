"""Carry mutmut's verdicts from one machine to the next (`make mutation-resume`).

A full mutation run of rasad's integrity core takes longer on two cores than one working
session lasts. mutmut keeps each mutant's verdict in ``mutants/<source>.meta`` together
with a hash of every mutated function, and on the next ``mutmut run`` re-tests only the
mutants of functions whose hash changed (and those never checked). This script saves those
verdicts to a file in the repository and puts them back on a fresh clone, so a run can
be carried on where the last one stopped instead of from scratch:

    python .ci/mutation_carry.py save      # mutants/**/*.meta -> .ci/mutation_results.json
    python .ci/mutation_carry.py restore   # .ci/mutation_results.json -> mutants/**/*.meta

Only the verdicts and the function hashes are kept. A verdict is trusted only while its
function is unchanged: mutmut resets the rest itself. Survivors are kept as survivors; re-test
them by name after adding tests (`mutmut run NAME`). ``make mutation`` still measures from
scratch and ignores the file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

RESULTS = Path(".ci/mutation_results.json")
MUTANTS = Path("mutants")
KEYS = ("exit_code_by_key", "hash_by_function_name")


def save(results: Path = RESULTS, mutants: Path = MUTANTS) -> int:
    files = {}
    for meta in sorted(mutants.glob("src/**/*.meta")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        if data.get("exit_code_by_key"):
            source = meta.relative_to(mutants).as_posix().removesuffix(".meta")
            files[source] = {key: dict(sorted(data.get(key, {}).items())) for key in KEYS}
    if not files:
        print(f"No mutmut verdicts under {mutants}/: run `mutmut run` first.", file=sys.stderr)
        return 1
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=False).stdout.strip()
    results.write_text(json.dumps({"commit": commit, "files": files}, indent=1,
                                  sort_keys=True) + "\n", encoding="utf-8")
    checked = sum(v is not None for f in files.values() for v in f["exit_code_by_key"].values())
    total = sum(len(f["exit_code_by_key"]) for f in files.values())
    print(f"Saved {checked} of {total} verdicts ({len(files)} files) to {results}.")
    return 0


def restore(results: Path = RESULTS, mutants: Path = MUTANTS) -> int:
    if not results.is_file():
        print(f"No {results}: nothing to carry on from (`make mutation` starts afresh).",
              file=sys.stderr)
        return 0
    saved = json.loads(results.read_text(encoding="utf-8"))
    for source, data in saved["files"].items():
        meta = mutants / f"{source}.meta"
        if (mutants / source).exists():
            print(f"{mutants}/ already holds mutants: restore into a fresh folder only "
                  f"(remove {mutants}/ first).", file=sys.stderr)
            return 2
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps({**data, "type_check_error_by_key": {},
                                    "durations_by_key": {},
                                    "estimated_durations_by_key": {}}), encoding="utf-8")
    print(f"Restored the verdicts of {len(saved['files'])} files, measured at "
          f"{saved.get('commit', '?')[:12]}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("save", "restore"))
    args = parser.parse_args(argv)
    return save() if args.action == "save" else restore()


if __name__ == "__main__":
    sys.exit(main())
