"""``python -m worker_enricher.subscriber``: the subscriber process."""

from __future__ import annotations

import faulthandler
import signal
import sys
import threading

from prometheus_client import REGISTRY, start_http_server

from common.lifecycle import stop_on_signals
from common.observability import setup_service
from common.redis_client import make_redis
from common.settings import SettingsError, load_settings
from worker_enricher.subscriber.backlog import StreamBacklogCollector
from worker_enricher.subscriber.service import Subscriber


def main() -> None:
    try:
        settings = load_settings()
        subscriber = Subscriber(settings)
    except SettingsError as exc:
        sys.stderr.write(f"subscriber: {exc}\n")
        raise SystemExit(2) from None
    setup_service("subscriber", settings)
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints every thread's stack
    if settings.pipeline.metrics_port:
        assert settings.redis_url is not None  # the Subscriber refuses to start without it
        scrape_client = make_redis(settings.redis_url, socket_timeout=2.0, retries=0)
        REGISTRY.register(
            StreamBacklogCollector(scrape_client, settings.pipeline.raw_stream_maxlen)
        )
        start_http_server(settings.pipeline.metrics_port, addr=settings.observability.metrics_host)
    stop = threading.Event()
    with stop_on_signals(stop):
        try:
            subscriber.run(stop)
        finally:
            subscriber.close()


if __name__ == "__main__":
    main()
