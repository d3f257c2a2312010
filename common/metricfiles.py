"""The files of prometheus_client's multiprocess mode, shared by gunicorn's services and the worker.

Kept free of any prometheus_client import: the worker prepares its directory
before the client decides how to store values.
"""

from __future__ import annotations

from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""The variable prometheus_client reads, when it is imported, to keep series in files of that
directory; settings read it as ``observability.prometheus_multiproc_dir``."""


def clear_stale(directory: Path) -> None:
    """Create ``directory`` if needed and delete the metric files of an earlier run in it.

    They would otherwise be merged into ``/metrics``: a dead process's open
    circuit, counters that never reset (a restarted container keeps its emptyDir).
    """
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)
