#!/usr/bin/env python3
"""Print the `formats` benchmark's medians as the Markdown tables in BENCHMARKS.md.

Run after `cargo bench -p ssot-benches --bench formats`:
    python3 benches/report.py [target/criterion]
"""
import json
import pathlib
import sys

TASKS = 10_000
root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")


def load(group, op, name):
    d = root / group / op / name / "new"
    median_ns = json.loads((d / "estimates.json").read_text())["median"]["point_estimate"]
    size = json.loads((d / "benchmark.json").read_text())["throughput"]["Bytes"]
    return median_ns, size


FLOORS = {"json": "floor serde_json", "yaml": "floor yaml_serde", "csv": "floor csv",
          "markdown": "floor pulldown-cmark events",
          "markdown-parser-path": "floor pulldown-cmark events"}
print("| format | operation | ssot median | ssot MB/s | ssot tasks/s | floor median | floor MB/s | ssot / floor |")
print("|---|---|---|---|---|---|---|---|")
for fmt, floor in FLOORS.items():
    for op in ("parse", "render"):
        try:
            ours, size = load(fmt, op, "ssot")
        except FileNotFoundError:
            continue
        row = [fmt, op, f"{ours / 1e6:.2f} ms", f"{size / ours * 1e3:.0f}", f"{TASKS / ours * 1e9 / 1e6:.2f} M"]
        try:
            theirs, _ = load(fmt, op, floor)
            row += [f"{theirs / 1e6:.2f} ms", f"{size / theirs * 1e3:.0f}", f"{ours / theirs:.2f}x"]
        except FileNotFoundError:
            row += ["-", "-", "-"]
        print("| " + " | ".join(row) + " |")

print()
print("| markdown edit, 10,000-task file | median |")
print("|---|---|")
edit = root / "markdown edit (10,000 tasks)"
for d in sorted(edit.iterdir()) if edit.exists() else []:
    est = d / "new" / "estimates.json"
    if est.exists():
        ns = json.loads(est.read_text())["median"]["point_estimate"]
        name = json.loads((d / "new" / "benchmark.json").read_text())["function_id"]
        print(f"| {name} | {ns / 1e3:.2f} µs |" if ns >= 1e3 else f"| {name} | {ns:.1f} ns |")
