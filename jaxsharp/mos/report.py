"""`python -m jaxsharp.mos report`: MOS per method and per (category, method) with 95% t intervals.

    python -m jaxsharp.mos report --db mos.sqlite --json mos.json --plot mos.png

Reads only the database (read-only, so it can run while the server is serving). The interval is the one
ITU-T P.1401 and BT.500 give, over individual ratings: mean +- t(0.975, n - 1) * S / sqrt(n), n the number of
ratings (jaxsharp.mos.stats). Ratings by one person are not independent, so with few raters the interval is
narrower than the truth: the number of raters is printed beside every row.
DMOS is ACR with hidden reference (ITU-T P.910, ACR-HR): for every rating of a method by a participant who also
rated the same image's `hr` version, DV = V - V(hr) + 5 (values above 5 are kept, not clipped); the DMOS is the
mean DV with the same interval.
"""

from __future__ import annotations

import collections
import math
import os

from jaxsharp import atomic
from jaxsharp.mos.stats import mean_ci
from jaxsharp.mos.study import METHOD_ORDER

REFERENCE = "hr"


def _method_key(method: str) -> tuple[int, str]:
    return (METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER), method)


def _row(scores: list[float], raters: set[str], name: str = "mos") -> dict:
    ci = mean_ci(scores)
    numbers = {name: ci.mean, "ci95": ci.half_width, "ci_low": ci.low, "ci_high": ci.high, "std": ci.std}
    # None, not nan, where a figure does not exist (one rating: no spread), so the summary is JSON as it is.
    return {**{k: v if math.isfinite(v) else None for k, v in numbers.items()},
            "n_ratings": ci.n, "n_raters": len(raters)}


def summarize(ratings: list[dict]) -> dict:
    """Ratings rows (store.read_ratings) -> {"n_ratings", "n_raters", "methods", "categories", "dmos"}.

    methods: one row per method; categories: one row per (category, method); dmos: one row per method other than
    `hr` (empty without `hr` ratings). Each row: mean ("mos" or "dmos"), ci95 (half width), ci_low, ci_high,
    std, n_ratings, n_raters. Spread and interval are None for fewer than two ratings.
    """
    by_method, by_category = collections.defaultdict(list), collections.defaultdict(list)
    reference = {(r["participant_id"], r["image"]): r["rating"] for r in ratings if r["method"] == REFERENCE}
    differential = collections.defaultdict(list)
    for r in ratings:
        by_method[r["method"]].append(r)
        by_category[(r["category"], r["method"])].append(r)
        ref = reference.get((r["participant_id"], r["image"]))
        if r["method"] != REFERENCE and ref is not None:
            differential[r["method"]].append((r["participant_id"], r["rating"] - ref + 5))

    def rows(groups) -> list[tuple]:
        return [(key, _row([r["rating"] for r in group], {r["participant_id"] for r in group}))
                for key, group in groups]

    methods = sorted(by_method, key=_method_key)
    categories = sorted(by_category, key=lambda key: (key[0], _method_key(key[1])))
    return {
        "n_ratings": len(ratings),
        "n_raters": len({r["participant_id"] for r in ratings}),
        "methods": [{"method": m, **row} for m, row in rows((m, by_method[m]) for m in methods)],
        "categories": [{"category": c, "method": m, **row}
                       for (c, m), row in rows((key, by_category[key]) for key in categories)],
        "dmos": [{"method": m, **_row([v for _, v in differential[m]], {p for p, _ in differential[m]}, "dmos")}
                 for m in sorted(differential, key=_method_key)],
    }


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _interval(row: dict) -> str:
    if row["ci95"] is None:
        return "n/a"
    return f"±{row['ci95']:.2f} ({row['ci_low']:.2f}–{row['ci_high']:.2f})"


def markdown(summary: dict) -> str:
    """The report as Markdown tables: per method, per (category, method), DMOS when there is a reference."""
    lines = [f"MOS (ACR 1-5), 95% CI from the t distribution: {summary['n_raters']} raters, "
             f"{summary['n_ratings']} ratings", "",
             "| method | MOS | 95% CI | ratings | raters |", "|---|---|---|---|---|"]
    lines += [f"| {r['method']} | {_fmt(r['mos'])} | {_interval(r)} | {r['n_ratings']} | {r['n_raters']} |"
              for r in summary["methods"]]
    lines += ["", "| category | method | MOS | 95% CI | ratings | raters |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['category']} | {r['method']} | {_fmt(r['mos'])} | {_interval(r)} | {r['n_ratings']} | "
              f"{r['n_raters']} |" for r in summary["categories"]]
    if summary["dmos"]:
        lines += ["", "| method | DMOS (ACR-HR) | 95% CI | pairs | raters |", "|---|---|---|---|---|"]
        lines += [f"| {r['method']} | {_fmt(r['dmos'])} | {_interval(r)} | {r['n_ratings']} | {r['n_raters']} |"
                  for r in summary["dmos"]]
    return "\n".join(lines)


def write_json(path: str | os.PathLike, summary: dict) -> None:
    """The summary as JSON, atomically (missing figures are null)."""
    atomic.write_json(path, summary, allow_nan=False)


def write_plot(path: str | os.PathLike, summary: dict) -> None:
    """Bar chart: MOS with 95% CI error bars, one group for all images and one per category, a bar per method."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    import numpy as np

    methods = [r["method"] for r in summary["methods"]]
    groups = ["all"] + sorted({r["category"] for r in summary["categories"]})
    cells = {("all", r["method"]): r for r in summary["methods"]}
    cells.update({(r["category"], r["method"]): r for r in summary["categories"]})
    width = 0.8 / max(1, len(methods))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.55 * len(groups) * max(1, len(methods)) + 2.5), 4.2),
                           layout="constrained")
    x = np.arange(len(groups))
    for i, method in enumerate(methods):
        rows = [cells.get((g, method)) for g in groups]
        means = [r["mos"] if r else np.nan for r in rows]
        errors = [r["ci95"] if r and r["ci95"] is not None else 0.0 for r in rows]
        ax.bar(x + (i - (len(methods) - 1) / 2) * width, means, width, yerr=errors, capsize=3, label=method)
    ax.set_xticks(x, groups, rotation=20, ha="right")
    ax.set_ylim(1, 5)
    ax.set_yticks([1, 2, 3, 4, 5], ["1 Bad", "2 Poor", "3 Fair", "4 Good", "5 Excellent"])
    ax.set_ylabel("MOS (ACR)")
    ax.set_title(f"MOS with 95% CI: {summary['n_raters']} raters, {summary['n_ratings']} ratings", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    fig.legend(fontsize=8, loc="outside right upper")
    atomic.write_file(path, lambda f: fig.savefig(f, format="png", dpi=120))
    plt.close(fig)
