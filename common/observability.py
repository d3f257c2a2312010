"""What every OptionsFlow process sets up first: JSON logs to stderr and to the Redis
Stream ``logs`` (read by logging_service), and error tracking when ``SENTRY_DSN`` is set."""

from __future__ import annotations

from common.jsonlog import configure_logging
from common.logship import RedisStreamHandler
from common.redis_client import make_redis
from common.sentry import init_sentry
from common.settings import Settings


def log_shipper(settings: Settings) -> RedisStreamHandler | None:
    """The stream handler, or ``None`` without ``REDIS_URL`` or with ``LOG_SHIPPING=0``."""
    url, obs = settings.redis_url, settings.observability
    if url is None or not obs.log_shipping:
        return None
    # Short timeouts and no retries: the sender drops and backs off itself.
    return RedisStreamHandler(
        lambda: make_redis(url, socket_timeout=2.0, connect_timeout=2.0, retries=0),
        maxlen=obs.log_stream_maxlen,
    )


def setup_service(service: str, settings: Settings, level: str | None = None) -> None:
    """Log as ``service`` (to stderr and, with Redis, to the stream) at ``level``; report
    errors to Sentry when ``SENTRY_DSN`` is set."""
    shipper = log_shipper(settings)
    configure_logging(service, level or settings.log_level, shipper=shipper)
    init_sentry(service, settings)
