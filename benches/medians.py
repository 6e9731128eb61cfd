#!/usr/bin/env python3
"""Print every criterion median under target/criterion (or the given directory) as one
Markdown table: group, benchmark, median, and throughput where one was set.

Run after any `cargo bench -p ssot-benches --bench NAME`:
    python3 benches/medians.py [target/criterion] [filter]
BENCHMARKS.md's tables are read off this output.
"""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
needle = sys.argv[2] if len(sys.argv) > 2 else ""


def human(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


print("| group | benchmark | median | throughput |")
print("|---|---|---|---|")
for est in sorted(root.glob("**/new/estimates.json")):
    bench = json.loads((est.parent / "benchmark.json").read_text())
    title = bench.get("full_id", "")
    if needle not in title:
        continue
    ns = json.loads(est.read_text())["median"]["point_estimate"]
    tp = bench.get("throughput") or {}
    rate = ""
    for kind, amount in tp.items():
        per_s = amount / ns * 1e9
        rate = f"{per_s / 1e6:.3g} M{kind.lower()}/s"
    print(f"| {bench.get('group_id', '')} | {title[len(bench.get('group_id', '')) + 1:]} | {human(ns)} | {rate} |")
