"""``optionsflow-feed`` / ``python -m feed_generator``: run the venues, record or replay the feed.

The venues are ``FEED_VENUES`` (default ``synthetic``) or ``--venue NAME``; several run in
one process, each on its own thread, all publishing through the same sinks, and their
health is published to Redis (``feed:health:{venue}``) and, with ``FEED_METRICS_PORT``,
served as Prometheus series at ``/metrics`` (``venues/metrics.py``).

Exit codes: 0 after a clean stop (duration reached, end of replay, Ctrl-C or
SIGTERM), 1 when a run fails midway, 2 for bad configuration (a one-line
message on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import datetime as dt
import logging
import math
import secrets
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import redis

from common.embedded_redis import EmbeddedRedis, EmbeddedRedisError
from common.jsonlog import trace
from common.lifecycle import stop_on_signals
from common.observability import setup_service
from common.settings import (
    Settings,
    SettingsError,
    check_one_source_per_product,
    load_settings,
    parse_venues,
    require_kite_credentials,
)
from feed_generator.capture import CaptureError, CaptureWriter, check_capture, read_capture
from feed_generator.market import DEFAULT_STRIKES, Market, Rates, message_rate
from feed_generator.options import DEFAULT_RATES, MODEL_OPTIONS, PROG, build_parser
from feed_generator.products import ProductSpec, UnknownProductError, resolve_products
from feed_generator.publisher import CaptureSink, Encoded, RedisSink, Sink, publishing_client
from feed_generator.runner import Progress, run_replay
from feed_generator.session import SessionMode
from feed_generator.venues.base import Venue
from feed_generator.venues.deribit.connector import DeribitVenue, deadletter_callback
from feed_generator.venues.health import FeedHealth
from feed_generator.venues.healthpub import HealthPublisher, publishing_health
from feed_generator.venues.kite.build import build_kite
from feed_generator.venues.kite.connector import KiteVenue
from feed_generator.venues.metrics import VenueSources, serving_metrics
from feed_generator.venues.reference.wiring import reference_routing
from feed_generator.venues.spot.build import build_spot
from feed_generator.venues.synthetic import SyntheticVenue

logger = logging.getLogger("feed_generator")


class ConfigError(ValueError):
    """The command line asks for something that cannot run."""


@dataclass(frozen=True, slots=True)
class MarketConfig:
    """A validated market configuration; :meth:`build` makes the one market of a run."""

    seed: int
    start: dt.datetime | None
    """``None``: the moment the market is built, after the set-up."""
    products: tuple[ProductSpec, ...]
    strikes: int
    rates: Rates
    settings: Settings

    def build(self) -> Market:
        """The market; every argument was checked by :func:`plan`, so this does not fail."""
        return Market(
            self.seed,
            self.start or dt.datetime.now(dt.UTC),
            self.products,
            strikes=self.strikes,
            rates=self.rates,
            r=self.settings.risk_free_rate,
            q=self.settings.dividend_yield,
            expiry_time=self.settings.expiry_time_utc,
            session=SessionMode(self.settings.feed_session),
        )


@dataclass(frozen=True, slots=True)
class Plan:
    """What to run, fully validated."""

    args: argparse.Namespace
    settings: Settings
    market: MarketConfig | None
    """``None`` for a replay, or when the synthetic venue is not among ``venues``."""
    venues: tuple[str, ...] = ("synthetic",)
    """``--venue`` or ``FEED_VENUES``; empty for a replay."""


def _check_venues(args: argparse.Namespace, venues: tuple[str, ...]) -> None:
    if args.no_publish and venues != ("synthetic",):
        # Only the synthetic market has a clock to run as fast as possible.
        raise ConfigError("--no-publish applies to the synthetic venue alone")
    if "synthetic" in venues:
        return
    names = (*MODEL_OPTIONS, "load")
    given = [f"--{n.replace('_', '-')}" for n in names if getattr(args, n) is not None]
    if given:
        # The live venues choose their own instruments and run at the venue's pace.
        raise ConfigError(f"{', '.join(given)}: apply to the synthetic venue only")


def _check_combinations(args: argparse.Namespace) -> None:
    if args.no_publish and args.duration is None:
        raise ConfigError("--no-publish needs --duration (the clock runs as fast as possible)")
    if args.no_publish and args.replay is not None:
        raise ConfigError("--no-publish and --replay together would do nothing")
    if args.replay is None and (args.speed is not None or args.restamp):
        raise ConfigError("--speed and --restamp apply to --replay only")
    if args.replay is not None:
        _check_replay(args)
    if args.record is not None and not args.record.parent.is_dir():
        raise ConfigError(f"--record: directory {args.record.parent} does not exist")


def _check_replay(args: argparse.Namespace) -> None:
    if args.record is not None:
        raise ConfigError("--record cannot be combined with --replay")
    if args.venue is not None:
        raise ConfigError("--venue cannot be combined with --replay")
    names = [*MODEL_OPTIONS, "load"]
    given = [f"--{n.replace('_', '-')}" for n in names if getattr(args, n) is not None]
    if given:
        # Accepting them would suggest the capture is re-generated; it is replayed as recorded.
        raise ConfigError(f"{', '.join(given)}: not applicable to --replay (replays as recorded)")
    check_capture(args.replay)


def _given(value: float | None, default: float) -> float:
    return default if value is None else value


def market_config(args: argparse.Namespace, settings: Settings) -> MarketConfig:
    """The market ``args`` ask for, validated without building it; :class:`ConfigError`."""
    try:
        names = None if args.products is None else args.products.split(",")
        products = tuple(resolve_products(names))
        default = DEFAULT_RATES
        rates = Rates(
            tick=_given(args.tick_rate, default.tick),
            quote=_given(args.quote_rate, default.quote),
            chain=_given(args.chain_rate, default.chain),
        )
        if args.load is not None:
            moment = args.start or dt.datetime.now(dt.UTC)
            base = message_rate(products, rates, moment, settings.expiry_time_utc)
            if base <= 0.0:
                raise ConfigError("--load needs at least one non-zero rate to scale")
            rates = rates.scaled(args.load / base)
    except (UnknownProductError, ValueError) as exc:
        raise ConfigError(str(exc)) from exc
    seed = secrets.randbits(32) if args.seed is None else args.seed
    strikes = DEFAULT_STRIKES if args.strikes is None else args.strikes
    return MarketConfig(seed, args.start, products, strikes, rates, settings)


def plan(argv: Sequence[str] | None) -> Plan:
    """Parse and validate everything that can be checked before connecting anywhere."""
    args = build_parser().parse_args(argv)
    settings = load_settings()
    _check_combinations(args)
    if args.replay is not None:
        return Plan(args, settings, None, ())
    venues = settings.venues.venues if args.venue is None else parse_venues(args.venue, "--venue")
    if args.venue is not None:  # FEED_VENUES was checked with the settings
        require_kite_credentials(venues, settings.venues.kite, "--venue")
        check_one_source_per_product(venues, settings.venues.kite.underlyings, "--venue")
    _check_venues(args, venues)
    market = market_config(args, settings) if "synthetic" in venues else None
    return Plan(args, settings, market, venues)


def connect(url: str) -> redis.Redis:
    """A publishing client for ``url`` after one quick ping, or :class:`ConfigError`."""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"--redis-url: expected redis://, rediss:// or unix://, got {url!r}")
    try:
        client = publishing_client(url)
    except ValueError as exc:
        raise ConfigError(f"cannot reach Redis at {url}: {exc}") from exc
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        client.close()
        raise ConfigError(f"cannot reach Redis at {url}: {exc}") from exc
    return client


def open_sinks(plan_: Plan, stack: contextlib.ExitStack) -> list[Sink]:
    """Redis (checked, or embedded) first, the capture last: opening it truncates the file."""
    args = plan_.args
    sinks: list[Sink] = []
    if not args.no_publish:
        url = args.redis_url or plan_.settings.redis_url
        if url is None:
            try:
                server = stack.enter_context(EmbeddedRedis())
            except EmbeddedRedisError as exc:
                raise ConfigError(str(exc)) from exc
            url = server.url
            logger.info("embedded redis started", extra={"redis_url": url})
        sink = RedisSink(connect(url), maxlen=plan_.settings.pipeline.raw_stream_maxlen)
        sinks.append(stack.enter_context(contextlib.closing(sink)))
    if args.record is not None:
        try:
            writer = CaptureWriter(args.record)
        except OSError as exc:
            raise ConfigError(f"--record: cannot write {args.record}: {exc}") from exc
        sinks.append(stack.enter_context(contextlib.closing(CaptureSink(writer))))
    return sinks


def _replay(plan_: Plan, sinks: list[Sink], stop: threading.Event, progress: Progress) -> None:
    args = plan_.args
    speed = 1.0 if args.speed is None else args.speed
    shown = "max" if math.isinf(speed) else speed
    logger.info("replaying", extra={"capture": str(args.replay), "speed": shown})
    run_replay(
        read_capture(args.replay),
        sinks,
        stop,
        speed=None if math.isinf(speed) else speed,
        restamp=args.restamp,
        duration=args.duration,
        progress=progress,
    )


def execute(plan_: Plan, sinks: list[Sink], stop: threading.Event) -> None:
    """Run the venues, or replay, until the duration, the capture's end or a stop request."""
    progress = Progress(interval=plan_.args.progress_interval)
    host, port = plan_.settings.observability.metrics_host, plan_.settings.venues.metrics_port
    if not plan_.venues:
        with serving_metrics(host, port, []):
            _replay(plan_, sinks, stop, progress)
        return
    venues = build_venues(plan_, sinks, progress)
    # With a live venue, the venues send through the reference router (venues/reference/).
    routing = reference_routing(plan_.settings, venues, sinks)
    sources = [metric_sources(v) for v in venues] + [VenueSources(h) for h in routing.healths]
    healths = [*(v.health for v in venues), *routing.healths]
    # The router's timer stops first, so the last health snapshot shows it down.
    with serving_metrics(host, port, sources), _health_published(sinks, healths), routing.running():
        run_venues(venues, routing.sinks, stop)


def metric_sources(venue: Venue) -> VenueSources:
    """What ``/metrics`` reads of ``venue``: its health, and a connector's rate budget and
    REST breaker."""
    if isinstance(venue, DeribitVenue):
        return VenueSources(venue.health, budget=venue.budget, breaker=venue.breaker)
    if isinstance(venue, KiteVenue):  # /quote's budget: the one that waits (1 call/s)
        return VenueSources(venue.health, budget=venue.quote_budget, breaker=venue.breaker)
    return VenueSources(venue.health)


def build_venues(plan_: Plan, sinks: Sequence[Sink], progress: Progress) -> list[Venue]:
    """One venue per name of ``plan_.venues``; the synthetic market is built here, now."""
    return [_BUILDERS[name](plan_, name, sinks, progress) for name in plan_.venues]


def _synthetic(plan_: Plan, name: str, sinks: Sequence[Sink], progress: Progress) -> SyntheticVenue:
    args = plan_.args
    assert plan_.market is not None  # plan() builds its config whenever synthetic runs
    # Built once, here: without --start the clock starts now, after the set-up.
    market = plan_.market.build()
    rates = market.rates
    logger.info(
        "generating",
        extra={
            "seed": market.seed,
            "start": market.start.isoformat(),
            "first_seq": market.seq_base,
            "products": [p.name for p in market.products],
            "strikes": market.strikes,
            "session": market.session.value,
            "rates": {"tick": rates.tick, "quote": rates.quote, "chain": rates.chain},
            "expected_rate_per_s": round(market.message_rate(), 1),
            "realtime": not args.no_publish,
            "record": str(args.record) if args.record else None,
        },
    )
    realtime = not args.no_publish
    return SyntheticVenue(market, realtime=realtime, duration=args.duration, progress=progress)


def _deribit(plan_: Plan, name: str, sinks: Sequence[Sink], progress: Progress) -> DeribitVenue:
    """``deribit`` at ``DERIBIT_*_URL``; ``deribit-sim`` at the local simulator's port."""
    conf = plan_.settings.venues
    sim = name == "deribit-sim"
    ws_url = conf.sim_ws_url if sim else conf.deribit_ws_url
    rest_url = conf.sim_rest_url if sim else conf.deribit_rest_url
    redis_client = next((s.client for s in sinks if isinstance(s, RedisSink)), None)
    on_reject = None if redis_client is None else deadletter_callback(redis_client)
    logger.info(
        "connecting",
        extra={"venue": name, "ws_url": ws_url, "rest_url": rest_url,
               "currencies": list(conf.deribit_currencies)},
    )  # fmt: skip
    return DeribitVenue(
        ws_url, rest_url, currencies=conf.deribit_currencies, name=name, on_reject=on_reject
    )


def _spot(plan_: Plan, name: str, sinks: Sequence[Sink], progress: Progress) -> Venue:
    """``binance`` / ``coinbase`` at their URLs; the ``-sim`` ones at the local simulators."""
    redis_client = next((s.client for s in sinks if isinstance(s, RedisSink)), None)
    on_reject = None if redis_client is None else deadletter_callback(redis_client)
    return build_spot(plan_.settings.venues.spot, name, on_reject)


def _kite(plan_: Plan, name: str, sinks: Sequence[Sink], progress: Progress) -> KiteVenue:
    """``kite`` at ``KITE_*_URL`` with the user's key and token; ``kite-sim`` at the local
    simulator's port (``venues/kite/build.py``)."""
    redis_client = next((s.client for s in sinks if isinstance(s, RedisSink)), None)
    on_reject = None if redis_client is None else deadletter_callback(redis_client)
    return build_kite(plan_.settings.venues.kite, name, on_reject)


_BUILDERS: dict[str, Callable[[Plan, str, Sequence[Sink], Progress], Venue]] = {
    "synthetic": _synthetic,
    "deribit": _deribit,
    "deribit-sim": _deribit,
    "kite": _kite,
    "kite-sim": _kite,
    "binance": _spot,
    "binance-sim": _spot,
    "coinbase": _spot,
    "coinbase-sim": _spot,
}
"""How each name of ``FEED_VENUES`` (``common.settings.VENUES``) is built."""


class _LockedSink:
    """Serialises ``send`` of one sink shared by venue threads (a capture file is not
    thread-safe, and a batch must reach it whole)."""

    def __init__(self, sink: Sink, lock: threading.Lock) -> None:
        self.sink, self.lock = sink, lock

    def send(self, batch: Sequence[Encoded]) -> None:
        with self.lock:
            self.sink.send(batch)

    def close(self) -> None:
        self.sink.close()


def run_venues(venues: Sequence[Venue], sinks: Sequence[Sink], stop: threading.Event) -> None:
    """Run one venue here, or each on its own thread until every one has returned.

    A venue that ends (a synthetic ``--duration``) stops the others: the run is over."""
    if len(venues) == 1:
        venues[0].run(sinks, stop)
        return
    shared: list[Sink] = [_LockedSink(s, threading.Lock()) for s in sinks]

    def run(venue: Venue) -> None:
        try:
            venue.run(shared, stop)
        finally:
            stop.set()

    # Each thread runs in a copy of this one's context: the run's trace id reaches every
    # venue's log lines (a new thread starts with an empty context).
    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(run, v),
                         name=f"venue-{v.name}", daemon=True)
        for v in venues
    ]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.5)  # a bounded wait keeps the main thread responsive to signals


def _health_published(
    sinks: Sequence[Sink], healths: Sequence[FeedHealth]
) -> contextlib.AbstractContextManager[None]:
    """Publish the feed healths to the Redis of the first Redis sink (none: nothing)."""
    for sink in sinks:
        if isinstance(sink, RedisSink):
            return publishing_health(HealthPublisher(sink.client, healths))
    return contextlib.nullcontext()


def _fail(message: str) -> int:
    sys.stderr.write(f"{PROG}: error: {message}\n")
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    try:
        plan_ = plan(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else 2
    except (SettingsError, ConfigError, CaptureError) as exc:
        return _fail(str(exc))
    setup_service("feed_generator", plan_.settings, plan_.args.log_level)
    stop = threading.Event()
    try:
        with trace():  # one trace id for the whole run: every log line of it carries it
            return _run(plan_, stop)
    except KeyboardInterrupt:  # before the signal handlers are in place
        return 130


def _run(plan_: Plan, stop: threading.Event) -> int:
    with contextlib.ExitStack() as stack:
        try:
            sinks = open_sinks(plan_, stack)
        except ConfigError as exc:
            return _fail(str(exc))
        with stop_on_signals(stop):
            try:
                execute(plan_, sinks, stop)
            except CaptureError as exc:
                logger.error("replay failed", extra={"error": str(exc)})
                return 1
    return 0
