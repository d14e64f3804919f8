"""One benchmark report: run every bench in `bench/`, then one Markdown table of their figures.

    .venv/bin/python bench/report.py [--quick] [--out bench/report.md] [--only NAME ...]

Each bench runs as its own subprocess (its usual printed output passes through unchanged)
with ``--json PATH``; the figures it writes there — each value, the reference it is compared
with in the same run and the ratio of the two — are composed into one table, written to
``bench/report.md`` and printed. ``--quick`` passes each bench its small-run flag. The exit
status is non-zero if any bench failed or wrote no figures; the table still lists the others.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/report.py` puts bench/ first, not the root
    sys.path.insert(0, str(ROOT))

from cadrekit.testing.servers import postgres_url  # noqa: E402


@dataclass(frozen=True)
class Bench:
    name: str
    title: str
    command: tuple[str, ...]  # after the interpreter
    quick: tuple[str, ...]


BENCHES = (
    Bench("roster_import", "import", ("bench/roster_import.py",), ("--quick",)),
    Bench("matching", "matching", ("bench/matching.py",), ("--quick",)),
    Bench("scoring_throughput", "scoring & event delay", ("-m", "bench.scoring_throughput"), ("--quick",)),
    Bench("gateway_overhead", "gateway overhead", ("-m", "bench.gateway_overhead"), ("--quick",)),
    Bench("webhook_latency", "webhook latency", ("-m", "bench.webhook_latency"), ("--quick",)),
)


def number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3f}" if unit == "s" else f"{value:.2f}"
    return f"{text} {unit}".strip()


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(results: dict[str, dict[str, Any] | None], durations: dict[str, float], quick: bool) -> str:
    one, five, _ = os.getloadavg()
    lines = [
        "# Benchmark report",
        "",
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {'--quick' if quick else 'full'} run, "
        f"{os.cpu_count()} CPUs, load average {one:.2f} / {five:.2f} (1 / 5 min) at the end. "
        "Every reference was measured in the same run unless marked *quoted*; ratio = figure ÷ reference.",
        "",
        "| bench | figure | value | reference | reference value | ratio | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for bench in BENCHES:
        if bench.name not in results:
            continue
        doc = results[bench.name]
        if doc is None:
            lines.append(f"| {bench.title} | **failed: no figures** | – | – | – | – | see its output above |")
            continue
        for f in doc["figures"]:
            ratio = "–" if f.get("ratio") is None else f"{f['ratio']:.3g}×"
            lines.append(
                "| "
                + " | ".join(
                    cell(x)
                    for x in (
                        bench.title,
                        f["figure"],
                        number(f["value"], f["unit"]),
                        f.get("reference") or "–",
                        number(f.get("reference_value"), f["unit"] if f.get("reference") else ""),
                        ratio,
                        f.get("note") or "",
                    )
                )
                + " |"
            )
        if doc.get("ok") is False:
            lines.append(f"| {bench.title} | **a result was wrong** (see its output) | – | – | – | – | |")
    lines.append("")
    lines.append(
        "Wall time per bench: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in durations.items()) + "."
    )
    return "\n".join(lines) + "\n"


def merged(previous: str, fresh: str, rerun: list[Bench]) -> str:
    """The previous report with the rows of the benches just run replaced by their new rows
    (`--only`), and a line saying which rows come from which run."""
    titles = {f"| {b.title} |" for b in rerun}
    new_rows = [ln for ln in fresh.splitlines() if any(ln.startswith(t) for t in titles)]
    # The note of an earlier re-run of the same benches no longer describes any row.
    stale = f"Rows of {', '.join(b.title for b in rerun)} re-run with `--only`: "
    lines: list[str] = []
    dropping = False
    for ln in previous.splitlines():
        if ln.startswith(stale):
            if lines and not lines[-1].strip():
                lines.pop()  # the blank line before the note
            dropping = True
        elif not (dropping and ln.startswith("Wall time per bench")):
            lines.append(ln)
            dropping = False
    out: list[str] = []
    placed = False
    for ln in lines:
        if any(ln.startswith(t) for t in titles):
            if not placed:
                out.extend(new_rows)
                placed = True
            continue
        out.append(ln)
    if not placed:  # the bench had no rows yet: before the text after the table
        end = max(i for i, ln in enumerate(out) if ln.startswith("|")) + 1
        out[end:end] = new_rows
    stamp = next(ln for ln in fresh.splitlines() if " UTC, " in ln)
    out.append("")
    out.append(f"Rows of {', '.join(b.title for b in rerun)} re-run with `--only`: {stamp}")
    out.append(next(ln for ln in fresh.splitlines() if ln.startswith("Wall time per bench")))
    return "\n".join(out) + "\n"


def run(bench: Bench, quick: bool, workdir: Path) -> tuple[dict[str, Any] | None, float, int]:
    out = workdir / f"{bench.name}.json"
    cmd = [sys.executable, *bench.command, *(bench.quick if quick else ()), "--json", str(out)]
    print(f"\n##### {bench.name}: {' '.join(cmd[1:])}", flush=True)
    t0 = time.perf_counter()
    code = subprocess.call(cmd, cwd=ROOT)
    seconds = time.perf_counter() - t0
    doc = json.loads(out.read_text()) if out.exists() else None
    return doc, seconds, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="each bench's small run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "report.md", help="where the table goes")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[b.name for b in BENCHES],
        help="run only these benches; their rows replace theirs in an existing report, the rest is kept",
    )
    args = parser.parse_args()
    results: dict[str, dict[str, Any] | None] = {}
    durations: dict[str, float] = {}
    failed = []
    # One throwaway PostgreSQL for every bench (or BENCH_POSTGRES_URL, a server of one's own);
    # the benches are subprocesses and find it in their environment.
    with tempfile.TemporaryDirectory(prefix="bench_report_") as tmp, postgres_url("BENCH_POSTGRES_URL") as pg:
        os.environ["BENCH_POSTGRES_URL"] = pg
        for bench in BENCHES:
            if args.only and bench.name not in args.only:
                continue
            doc, seconds, code = run(bench, args.quick, Path(tmp))
            results[bench.name], durations[bench.name] = doc, seconds
            if code != 0 or doc is None:
                failed.append(f"{bench.name} (exit {code})")
    text = table(results, durations, args.quick)
    if args.only and args.out.exists():
        text = merged(args.out.read_text(), text, [b for b in BENCHES if b.name in args.only])
    args.out.write_text(text)
    print("\n" + text)
    print(f"written to {args.out}")
    if failed:
        print("FAILED: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
