"""`make bench --only`: the re-run rows replace the old ones, and the note about them too."""

from __future__ import annotations

from bench.report import BENCHES, merged

WEBHOOK = next(b for b in BENCHES if b.name == "webhook_latency")


def report(rows: list[str], notes: list[str]) -> str:
    return "\n".join(["| bench | figure |", "|---|---|", *rows, "", *notes]) + "\n"


def test_a_rerun_replaces_its_rows_and_the_note_of_its_previous_rerun() -> None:
    before = report(
        ["| import | 1 s |", "| webhook latency | 200 ms |"],
        [
            "Wall time per bench: roster_import 77 s.",
            "",
            "Rows of webhook latency re-run with `--only`: 2026-12-03 06:17 UTC, load 5.",
            "Wall time per bench: webhook_latency 84 s.",
        ],
    )
    fresh = report(
        ["| webhook latency | 60 ms |"],
        ["2026-12-03 15:40 UTC, full run, load 1.", "Wall time per bench: webhook_latency 67 s."],
    )
    after = merged(before, fresh, [WEBHOOK])
    assert "| webhook latency | 60 ms |" in after and "200 ms" not in after
    assert "| import | 1 s |" in after and "roster_import 77 s" in after
    assert "06:17" not in after and "84 s" not in after
    assert after.count("Rows of webhook latency re-run") == 1 and "15:40 UTC" in after
    assert "\n\n\n" not in after
