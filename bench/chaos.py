"""The chaos report: each fault under a steady feed, what was lost and how long recovery took.

Run: ``.venv/bin/python bench/chaos.py --rate 2000 --before 5 --after 10``.

Starts ``make up``'s processes under its supervisor on free ports (Redis with its
append-only file, ``appendfsync everysec``; the subscriber, a Celery worker, the socket
gateway, the auth, storage and logging services: ``tests/chaos/stack.py``), records the
synthetic feed and replays it at ``--rate`` messages/s through the feed's own publisher,
knowing which messages Redis acknowledged (``tests/chaos/feed.py``). A Socket.IO client
(python-socketio, reconnecting as the dashboard does) holds one chain's room; numbered
log lines go to the ``logs`` stream at 50/s. Then, one scenario at a time: ``--before``
seconds of feed, the fault (a kill -9 that the supervisor repairs, a Redis restart or
kill -9, the store locked for 10 s), ``--after`` seconds more once the part is back,
and a wait until the backlog is drained.

Prints progress on stderr and, on stdout, the table (Markdown): chain seqs published
(acknowledged by Redis) and stored, missing and duplicated; underlying ticks never
broadcast enriched; seconds from the fault until the Socket.IO client held a newer
chain; log lines the stream took and the logging service never filed; seconds from the
fault until the last enriched message more than 1 s late arrived (the backlog drained:
stream pending 0, ``enrich`` queue and kombu's ``unacked`` hash empty, checked after).
``--json`` writes every row with its evidence (which seqs, which lines) to a file.

The redelivery settings default to ``make up``'s, from the settings (a killed worker's
batches come back after ``CELERY_VISIBILITY_TIMEOUT_S``, 60 s); ``--visibility-timeout 5
--claim-idle-ms 1000`` is what ``tests/chaos`` uses.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.chaos, from bench/

from common.settings import load_settings
from tests.chaos.scenarios import SCENARIOS, Row, run
from tests.chaos.session import chaos_session

COLUMNS = (
    "scenario", "published", "stored", "missing", "duplicated", "ticks missing",
    "Socket.IO back (s)", "log lines lost", "recovery (s)",
)  # fmt: skip


def progress(line: str) -> None:
    """A line on stderr with the time and the load average (other work on the machine
    slows the pipeline and stretches every recovery: the figures need it beside them)."""
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{time.strftime('%H:%M:%S')} [load {load}] {line}", file=sys.stderr, flush=True)


def _cells(row: Row) -> list[str]:
    def seconds(value: float | None) -> str:
        return "never" if value is None else f"{value:.1f}"

    drained = "" if row.drained else " (not drained)"
    if row.evidence["late_before_fault"]:  # behind before the fault: not the fault's alone
        drained += " (behind before the fault)"
    return [
        row.scenario, f"{row.published:,}", f"{row.stored:,}", str(row.missing),
        str(row.duplicated), f"{row.ticks_missing} of {row.ticks_published:,}",
        seconds(row.socket_back_s), f"{row.log_lost} of {row.log_lines:,}",
        seconds(row.recovery_s) + drained,
    ]  # fmt: skip


def table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="scenarios: " + "; ".join(f"{k} ({s.label})" for k, s in SCENARIOS.items()),
    )  # fmt: skip
    parser.add_argument("--rate", type=int, default=2000, help="messages/s offered (2000)")
    parser.add_argument("--before", type=float, default=5.0, help="seconds of feed before")
    parser.add_argument("--after", type=float, default=10.0,
                        help="seconds of feed once the faulted part is back")  # fmt: skip
    parser.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS), metavar="NAME",
                        default=list(SCENARIOS), help="which, in order (default: all)")  # fmt: skip
    pipeline = load_settings().pipeline
    parser.add_argument("--visibility-timeout", type=int, default=pipeline.visibility_timeout_s,
                        help="CELERY_VISIBILITY_TIMEOUT_S (default: make up's, "
                             f"{pipeline.visibility_timeout_s})")  # fmt: skip
    parser.add_argument("--claim-idle-ms", type=int, default=pipeline.claim_idle_ms,
                        help="SUBSCRIBER_CLAIM_IDLE_MS (default: make up's, "
                             f"{pipeline.claim_idle_ms})")  # fmt: skip
    parser.add_argument("--record", type=float, default=20.0,
                        help="seconds of feed recorded, replayed in rounds (20)")  # fmt: skip
    parser.add_argument("--keep", type=Path, help="keep logs, store and Redis files here")
    parser.add_argument("--json", type=Path, help="write every row with its evidence here")
    args = parser.parse_args()
    env = {
        "CELERY_VISIBILITY_TIMEOUT_S": str(args.visibility_timeout),
        "SUBSCRIBER_CLAIM_IDLE_MS": str(args.claim_idle_ms),
    }
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="optionsflow-chaos-") as scratch:
        workdir = args.keep or Path(scratch)
        progress(f"starting the stack in {workdir}")
        with chaos_session(workdir, rate=args.rate, record_s=args.record, env=env) as probes:
            progress("stack up, Socket.IO client holding its snapshot")
            for name in args.scenarios:
                row = run(
                    probes, name, int(args.before * args.rate), int(args.after * args.rate),
                    settle_s=args.visibility_timeout + 120.0, progress=progress,
                )  # fmt: skip
                rows.append(row)
                progress(" | ".join(_cells(row)))
                if not row.drained or row.missing or row.duplicated or row.ticks_missing:
                    progress(f"evidence: {json.dumps(row.evidence)}")
    if args.json:
        args.json.write_text(json.dumps([row.as_dict() for row in rows], indent=2))
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{args.rate:,} msg/s, {args.before:g} s before each fault and {args.after:g} s after;"
        f" visibility timeout {args.visibility_timeout} s, claim idle {args.claim_idle_ms} ms;"
        f" {os.cpu_count()} cores, load average at the end {load}"
    )
    print(table(rows))


if __name__ == "__main__":
    main()
