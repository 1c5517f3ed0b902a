"""Print the mutation score of each mutated module from mutmut's results (`make mutation`).

Usage: ``python .ci/mutation_score.py [--min 95] [--equivalent .ci/mutation_equivalent.txt]``,
run from the repository root after ``mutmut run``.

A mutant counts as killed when a test failed or it timed out (an infinite loop the tests
ran into). The score is killed / (total - equivalent - unchecked): ``--equivalent`` names mutants
judged equivalent to the original code, one per line with its reason after ``#``; each is
still listed, and one that is killed after all is reported so the list stays honest. The
"raw" column counts them as alive.
Exits 1 when a module scores below ``--min``, or when a mutant was never checked (an
interrupted run: ``mutmut run`` again carries on where it stopped).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

KILLED = {"killed", "timeout"}
LINE = re.compile(r"^\s*(?P<name>\S+): (?P<status>.+)$")
MODULE = re.compile(r"^(?P<module>.+?)\.x(?:_|\u01c1)")


def results(mutmut: str) -> dict[str, str]:
    """Every mutant's status, by name, as ``mutmut results --all true`` lists them."""
    out = subprocess.run([mutmut, "results", "--all", "true"], check=True,
                         capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        match = LINE.match(line)
        if match:
            found[match["name"]] = match["status"].strip()
    return found


def equivalents(path: Path | None) -> dict[str, str]:
    if path is None or not path.is_file():
        return {}
    listed = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        name, _, reason = raw.partition("#")
        if name.strip():
            listed[name.strip()] = reason.strip()
    return listed


def module_of(mutant: str) -> str:
    match = MODULE.match(mutant)
    return match["module"] if match else mutant.rsplit(".", 1)[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min", type=float, default=0.0, help="lowest acceptable score, %%")
    parser.add_argument("--equivalent", type=Path,
                        default=Path(".ci/mutation_equivalent.txt"))
    parser.add_argument("--mutmut", default=str(Path(sys.executable).with_name("mutmut")))
    args = parser.parse_args(argv)

    statuses = results(args.mutmut)
    if not statuses:
        print("No mutmut results: run `mutmut run` first (or `make mutation`).", file=sys.stderr)
        return 1
    equivalent = equivalents(args.equivalent)
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    alive: dict[str, list[str]] = defaultdict(list)
    for name, status in sorted(statuses.items()):
        module = module_of(name)
        counts = by_module[module]
        counts["total"] += 1
        if status in KILLED:
            counts["killed"] += 1
            if name in equivalent:
                print(f"note: {name} is listed as equivalent but was killed; remove it.")
        elif name in equivalent:
            counts["equivalent"] += 1
        elif status == "not checked":
            counts["not checked"] += 1
        else:
            counts["alive"] += 1
            alive[module].append(f"{name}: {status}")

    failed = False
    print(f"{'module':<32}{'total':>7}{'killed':>8}{'alive':>7}{'equiv.':>8}{'unchecked':>10}"
          f"{'raw':>8}{'score':>9}")
    totals: Counter[str] = Counter()
    for module, counts in sorted(by_module.items()):
        totals.update(counts)
        failed |= _score(counts) < args.min or counts["not checked"] > 0
        print(_row(module, counts))
    print(_row("all", totals))
    for module, names in sorted(alive.items()):
        print(f"\nAlive in {module} ({len(names)}):")
        for line in names:
            print(f"  {line}")
    if failed:
        print(f"\nA module scores below {args.min}% or has unchecked mutants.", file=sys.stderr)
    return 1 if failed else 0


def _score(counts: Counter[str]) -> float:
    """Killed among the checked mutants that are not equivalent."""
    considered = counts["total"] - counts["equivalent"] - counts["not checked"]
    return 100.0 * counts["killed"] / considered if considered else 100.0


def _raw(counts: Counter[str]) -> float:
    """Killed among the checked mutants, equivalent ones counted as alive."""
    checked = counts["total"] - counts["not checked"]
    return 100.0 * counts["killed"] / checked if checked else 100.0


def _row(module: str, counts: Counter[str]) -> str:
    return (f"{module:<32}{counts['total']:>7}{counts['killed']:>8}{counts['alive']:>7}"
            f"{counts['equivalent']:>8}{counts['not checked']:>10}{_raw(counts):>7.1f}%"
            f"{_score(counts):>8.1f}%")


if __name__ == "__main__":
    sys.exit(main())
