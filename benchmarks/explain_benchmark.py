"""F1 and time per case of `ops-pipeline explain` on a root-cause benchmark in the published format.

A dataset directory holds one CSV per case (a column per dimension, `real`,
`predict`) and an `injection_info.csv` with the true root causes per case
(`timestamp` = the case's file name, `set` = elements as "a=a1&b=b2;c=c3"),
possibly in subdirectories, the layout of the RiskLoc and Squeeze
benchmarks. Scoring is theirs (RiskLoc's utils/evaluation.py): an element is
a true positive when it equals a true one exactly; TP, FP and FN are summed
over the cases and F1 = 2 TP / (2 TP + FP + FN). Time is the search only,
the CSV read excluded, as theirs.

    .venv/bin/python benchmarks/explain_benchmark.py DATASET_DIR [DATASET_DIR ...] [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from ops_pipeline.alerts.rootcause import find_root_causes


def element_key(element: dict[str, str]) -> str:
    return "&".join(sorted(f"{dim}={value}" for dim, value in element.items()))


def score_case(predicted: set[str], label: str) -> tuple[int, int, int]:
    """RiskLoc's score_root_causes: (TP, FP, FN) of one case."""
    truth = {"&".join(sorted(t.split("&"))) for t in label.split(";")}
    tp = len(truth & predicted)
    return tp, max(len(predicted) - tp, 0), len(truth) - tp


def case_dirs(root: Path) -> list[Path]:
    return sorted(info.parent for info in root.rglob("injection_info.csv"))


def run_directory(directory: Path, limit: int | None) -> dict:
    labels = pd.read_csv(directory / "injection_info.csv", dtype={"timestamp": str})
    labels = labels.sort_values("timestamp").head(limit) if limit else labels
    tp = fp = fn = 0
    seconds = []
    for timestamp, label in zip(labels["timestamp"], labels["set"]):
        leaves = pd.read_csv(directory / f"{timestamp}.csv")
        start = time.perf_counter()
        causes = find_root_causes(leaves)
        seconds.append(time.perf_counter() - start)
        case = score_case({element_key(c.element) for c in causes}, label)
        tp, fp, fn = tp + case[0], fp + case[1], fn + case[2]
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return {
        "cases": len(seconds),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "f1": f1,
        "mean_seconds": sum(seconds) / len(seconds) if seconds else 0.0,
        "max_seconds": max(seconds, default=0.0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+", type=Path, help="dataset directories (each with injection_info.csv)")
    parser.add_argument("--limit", type=int, help="first N cases of each directory by name (default: all)")
    args = parser.parse_args(argv)
    print("dataset  cases   F1      TP    FP    FN   s/case (mean, max)")
    for root in args.datasets:
        for directory in case_dirs(root):
            r = run_directory(directory, args.limit)
            name = str(directory.relative_to(root.parent))
            print(
                f"{name:8} {r['cases']:5} {r['f1']:.4f} {r['tp']:5} {r['fp']:5} {r['fn']:5}"
                f"   {r['mean_seconds']:.3f}, {r['max_seconds']:.3f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
