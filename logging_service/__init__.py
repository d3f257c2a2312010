"""logging_service (port 8005): collects every service's log lines from the Redis Stream
``logs`` into rotating JSON-lines files and a query index, forwards them to
Elasticsearch when ``ELASTICSEARCH_URL`` is set, and serves ``GET /logs``."""

from __future__ import annotations

from flask import Flask

from common.redis_client import make_redis
from common.settings import Settings, SettingsError, load_settings
from common.web import create_base_app
from common.web.openapi import make_api
from logging_service.archive import Archive
from logging_service.collector import Sink
from logging_service.index import LogIndex
from logging_service.routes import blp
from logging_service.sinks import ArchiveSink, ElasticsearchSink
from logging_service.supervisor import Collector

SERVICE = "logging_service"
INDEX_FILE = "index.sqlite3"


def create_app(settings: Settings | None = None, *, collect: bool = True) -> Flask:
    """The logging Flask app; with ``collect`` it also runs the stream consumers (in the
    one process per log directory that holds its lock). Needs ``REDIS_URL``."""
    settings = settings or load_settings()
    url = settings.redis_url
    if url is None:
        raise SettingsError(
            "REDIS_URL: logging_service reads the Redis Stream 'logs' the services write to"
        )
    obs = settings.observability
    index = LogIndex(obs.log_dir / INDEX_FILE)
    client = make_redis(url, socket_timeout=2.0, connect_timeout=2.0, retries=1)
    app = create_base_app(
        SERVICE, settings, readiness={"redis": client.ping, "index": index.ping}, access_log=False
    )
    app.extensions["log_index"] = index
    make_api(app, "logs").register_blueprint(blp)
    if collect:
        sinks: list[Sink] = [
            ArchiveSink(
                Archive(obs.log_dir, obs.log_file_bytes, obs.log_files),
                index,
                obs.log_retention_s,
            )
        ]
        if obs.elasticsearch_url:
            sinks.append(ElasticsearchSink(obs.elasticsearch_url))
        collector = Collector(
            # no socket timeout: the consumers block on XREADGROUP for up to a second
            lambda: make_redis(url, socket_timeout=30.0, connect_timeout=2.0, retries=0),
            sinks,
            obs.log_dir / "collector.lock",
        )
        collector.start()
        app.extensions["log_collector"] = collector
    return app
