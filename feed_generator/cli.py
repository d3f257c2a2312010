"""``optionsflow-feed`` / ``python -m feed_generator``: generate, record or replay the market feed.

Exit codes: 0 after a clean stop (duration reached, end of replay, Ctrl-C or
SIGTERM), 1 when a run fails midway, 2 for bad configuration (a one-line
message on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import math
import secrets
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import redis

from common.embedded_redis import EmbeddedRedis, EmbeddedRedisError
from common.jsonlog import trace
from common.lifecycle import stop_on_signals
from common.observability import setup_service
from common.settings import Settings, SettingsError, load_settings
from feed_generator.capture import CaptureError, CaptureWriter, check_capture, read_capture
from feed_generator.market import DEFAULT_STRIKES, Market, Rates, message_rate
from feed_generator.options import DEFAULT_RATES, MODEL_OPTIONS, PROG, build_parser
from feed_generator.products import ProductSpec, UnknownProductError, resolve_products
from feed_generator.publisher import CaptureSink, RedisSink, Sink, publishing_client
from feed_generator.runner import Progress, run_replay
from feed_generator.session import SessionMode
from feed_generator.venues.healthpub import HealthPublisher, publishing_health
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
    """``None`` for a replay."""


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
    market = None if args.replay is not None else market_config(args, settings)
    return Plan(args, settings, market)


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
        sinks.append(stack.enter_context(contextlib.closing(RedisSink(connect(url)))))
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
    """Generate or replay until the duration, the capture's end or a stop request."""
    args = plan_.args
    progress = Progress(interval=args.progress_interval)
    if plan_.market is None:
        _replay(plan_, sinks, stop, progress)
        return
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
    venue = SyntheticVenue(market, realtime=realtime, duration=args.duration, progress=progress)
    with _health_published(sinks, venue):
        venue.run(sinks, stop)


def _health_published(
    sinks: Sequence[Sink], venue: SyntheticVenue
) -> contextlib.AbstractContextManager[None]:
    """Publish ``venue``'s feed health to the Redis of the first Redis sink (none: nothing)."""
    for sink in sinks:
        if isinstance(sink, RedisSink):
            return publishing_health(HealthPublisher(sink.client, [venue.health]))
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
