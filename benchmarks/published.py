"""The shipped standards against the corpora they were calibrated on (issue 15).

    python -m benchmarks.published [--out reports/published]

Imports the two shipped corpora (the AI Energy Score, February 2025; the ML.ENERGY LLM chat
leaderboard) exactly as ``ecometer corpus import`` does and reports:

- agreement of ``ai-energy-score-2025-02`` with the published stars, per class, and how many
  grades are not stable if every published mean is taken as +/-5 % (``reported_spread``);
- the grade distribution of ``ecometer-inference`` on the ML.ENERGY configurations, per
  class, and the smallest number of grades spanned by two configurations of one class 5x
  apart in energy per token.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from benchmarks._common import ROOT, markdown_table, write_json


def _corpus(name: str) -> list:
    from ecometer.standards.tables import import_tables, load_spec, spec_files

    spec = load_spec(name)
    return import_tables(spec_files(spec), spec)


def aes() -> dict:
    from ecometer.standards import load_standard, score
    from ecometer.standards.schema import Quality

    std = load_standard("ai-energy-score-2025-02")
    spread = std.replace(quality=Quality(accept_reported=True, reported_spread=0.05))
    per_class: dict[str, list[int]] = {}
    unstable = 0
    for e in _corpus("ai-energy-score-2025-02"):
        a = score(e, std)
        stars = e.meta["published_stars"]
        expected = std.grades[5 - stars]
        row = per_class.setdefault(a.class_name or "-", [0, 0])
        row[0] += 1
        row[1] += a.grade == expected
        unstable += not score(e, spread).stable
    total = sum(r[0] for r in per_class.values())
    agree = sum(r[1] for r in per_class.values())
    return {"models": total, "agree": agree, "unstable_at_5pct": unstable, "per_class": per_class}


def inference() -> dict:
    from ecometer.standards import load_standard, score

    std = load_standard("ecometer-inference")
    by_class: dict[str, list[tuple[float, int]]] = {}
    grades: dict[str, Counter] = {}
    for e in _corpus("ml-energy-lm-arena-chat"):
        a = score(e, std)
        m = a.metrics["energy_per_token"]
        by_class.setdefault(a.class_name, []).append((m.value, std.grades.index(m.grade)))
        grades.setdefault(a.class_name, Counter())[a.grade] += 1
    spans = [h - g + 1 for rows in by_class.values() for v, g in rows for w, h in rows if w >= 5 * v]
    return {
        "configurations": sum(len(r) for r in by_class.values()),
        "grades": {c: dict(sorted(n.items())) for c, n in grades.items()},
        "pairs_5x": len(spans),
        "min_grades_spanned_5x": min(spans),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "reports" / "published")
    args = p.parse_args(argv)
    a, i = aes(), inference()
    write_json(args.out / "published.json", {"ai_energy_score_2025_02": a, "ecometer_inference": i})
    rows = [[c, str(n), str(k)] for c, (n, k) in a["per_class"].items()]
    grade_rows = [[c, ", ".join(f"{g} {n}" for g, n in counts.items())] for c, counts in i["grades"].items()]
    text = (
        "# Shipped standards on the corpora they were calibrated on\n\n"
        "Command: `python -m benchmarks.published`.\n\n"
        f"## ai-energy-score-2025-02\n\n{a['agree']} of {a['models']} models get their published stars "
        f"back. Taking every published mean as +/-5 % (a declared `reported_spread`), "
        f"{a['unstable_at_5pct']} of {a['models']} grades are not stable.\n\n"
        + markdown_table(["class", "models", "published stars reproduced"], rows)
        + f"\n\n## ecometer-inference\n\n{i['configurations']} ML.ENERGY configurations. Of the "
        f"{i['pairs_5x']} pairs of configurations of one class that are 5x or more apart in energy "
        f"per token, the closest in grade span {i['min_grades_spanned_5x']} grades.\n\n"
        + markdown_table(["class", "overall grades"], grade_rows)
        + "\n"
    )
    (args.out / "published.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
