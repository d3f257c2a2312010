"""``python -m tests.chaos.runner``: some of ``make up``'s processes under its supervisor.

The chaos suite kills processes and expects them back as ``make up`` brings them back,
so it runs the very programs :mod:`common.devstack` builds (same commands, same
per-service environment) and the same persisted Redis (append-only file, ``everysec``),
under :class:`common.supervisor.Supervisor` with its default backoff. Only the programs
named are run: the feed is the test's own (it must know what was acknowledged), and the
API gateway, analytics and Flower would only take CPU from the two cores.

The supervisor logs JSON on stderr, one ``"process started"`` line per start with the
``program`` and its ``pid``: :class:`tests.chaos.stack.ChaosStack` reads them to know whom
to kill.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from common.devstack import programs, redis_program
from common.jsonlog import configure_logging
from common.settings import load_settings
from common.supervisor import Supervisor


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tests.chaos.runner", description=__doc__.split("\n")[0])
    parser.add_argument("--redis-port", type=int, required=True)
    parser.add_argument("--redis-dir", type=Path, required=True, help="its append-only file")
    parser.add_argument("programs", nargs="+", help="names as common.devstack gives them")
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging("chaos-supervisor", "INFO")
    env = {**os.environ, "REDIS_URL": f"redis://127.0.0.1:{args.redis_port}/0"}
    args.redis_dir.mkdir(parents=True, exist_ok=True)
    chosen = [p for p in programs(settings, env) if p.name in args.programs]
    unknown = set(args.programs) - {p.name for p in chosen}
    if unknown:
        parser.error(f"no such program in common.devstack: {sorted(unknown)}")
    sys.exit(Supervisor([redis_program(args.redis_port, args.redis_dir), *chosen]).run())


if __name__ == "__main__":
    main()
