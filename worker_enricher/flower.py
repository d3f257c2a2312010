"""``python -m worker_enricher.flower [Flower options]``: Flower for the enrich workers.

Flower is a Celery command whose web server (tornado) would put its own text
formatter on the root logger. Started this way, it runs with ``--logging=none``
after the process has set up logging as every OptionsFlow service does: JSON
lines with ``service: flower`` on stderr and shipped to the stream ``logs``.
"""

from __future__ import annotations

import sys

from celery.bin.celery import main as celery_main

from common.observability import setup_service
from common.settings import load_settings


def main(argv: list[str] | None = None) -> None:
    setup_service("flower", load_settings())
    options = sys.argv[1:] if argv is None else argv
    sys.argv = ["celery", "-A", "worker_enricher.celery_app", "flower", "--logging=none", *options]
    celery_main()


if __name__ == "__main__":
    main()
