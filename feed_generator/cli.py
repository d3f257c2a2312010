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
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import NoReturn

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from common.embedded_redis import EmbeddedRedis, EmbeddedRedisError
from common.jsonlog import configure_logging, trace
from common.redis_client import make_redis
from common.settings import Settings, SettingsError, load_settings
from feed_generator.capture import CaptureError, CaptureWriter, check_capture, read_capture
from feed_generator.market import DEFAULT_STRIKES, MAX_RATE, MAX_STRIKES, Market, Rates
from feed_generator.products import PRODUCTS, UnknownProductError, resolve_products
from feed_generator.publisher import CaptureSink, RedisSink, Sink
from feed_generator.runner import Progress, run_market, run_replay

PROG = "optionsflow-feed"
logger = logging.getLogger("feed_generator")


class ConfigError(ValueError):
    """The command line asks for something that cannot run."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, no usage dump: the message says what to fix, --help says the rest.
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value >= 0.0):
        raise argparse.ArgumentTypeError(f"must be a finite number ≥ 0, got {text}")
    return value


def _rate(text: str) -> float:
    value = _non_negative(text)
    if value > MAX_RATE:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_RATE:g} per second, got {text}")
    return value


def _positive(text: str) -> float:
    value = _non_negative(text)
    if value <= 0.0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _speed(text: str) -> float:
    return math.inf if text.strip().lower() == "max" else _positive(text)


def _start(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected ISO-8601 like 2026-11-23T04:00:00Z, got {text!r}"
        ) from None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _int_in(lo: int, hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be between {lo} and {hi}, got {value}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Synthetic options market feed over Redis Pub/Sub.")
    _model_options(parser.add_argument_group("market model"))
    _rate_options(parser.add_argument_group("rates (messages per second)"))
    _run_options(parser.add_argument_group("run"))
    return parser


def _model_options(group: argparse._ArgumentGroup) -> None:
    add = group.add_argument
    add("--seed", type=_int_in(0, 2**63 - 1), help="random seed (default: random, logged)")
    add("--products", help=f"comma list (default: all of {','.join(PRODUCTS)})")
    add(
        "--strikes",
        type=_int_in(1, MAX_STRIKES),
        default=DEFAULT_STRIKES,
        help=f"strikes per chain around the money (default {DEFAULT_STRIKES})",
    )
    add("--start", type=_start, help="ISO start of the simulated clock (default: now)")


def _rate_options(group: argparse._ArgumentGroup) -> None:
    add, default = group.add_argument, Rates()
    add("--tick-rate", type=_rate, default=default.tick, help="underlying ticks per product (5)")
    add("--quote-rate", type=_rate, default=default.quote, help="option quotes per product (10)")
    add("--chain-rate", type=_rate, default=default.chain, help="chains per (product, expiry) (1)")
    add("--load", type=_positive, help="target total messages/s; scales the three rates")


def _run_options(group: argparse._ArgumentGroup) -> None:
    add = group.add_argument
    add("--duration", type=_positive, help="stop after this many seconds")
    add("--redis-url", help="Redis to publish to (default: REDIS_URL, else an embedded one)")
    add(
        "--no-publish",
        "--dry-run",
        dest="no_publish",
        action="store_true",
        help="no Redis: run the simulated clock as fast as possible (needs --duration)",
    )
    add("--record", type=Path, help="write a gzip JSON-lines capture to this file")
    add("--replay", type=Path, help="publish a capture instead of simulating")
    add("--speed", type=_speed, help="replay pace: a factor or 'max' (default 1)")
    add("--restamp", action="store_true", help="replay with timestamps set to now")
    add(
        "--progress-interval",
        type=_non_negative,
        default=5.0,
        help="seconds between progress logs (5; 0: none)",
    )
    add("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="default: LOG_LEVEL")


@dataclass(frozen=True, slots=True)
class Plan:
    """What to run, fully validated."""

    args: argparse.Namespace
    settings: Settings
    market: Market | None
    """``None`` for a replay."""


def _check_combinations(args: argparse.Namespace) -> None:
    if args.no_publish and args.duration is None:
        raise ConfigError("--no-publish needs --duration (the clock runs as fast as possible)")
    if args.no_publish and args.replay is not None:
        raise ConfigError("--no-publish and --replay together would do nothing")
    if args.replay is not None and args.record is not None:
        raise ConfigError("--record cannot be combined with --replay")
    if args.replay is None and (args.speed is not None or args.restamp):
        raise ConfigError("--speed and --restamp apply to --replay only")
    if args.replay is not None:
        check_capture(args.replay)
    if args.record is not None and not args.record.parent.is_dir():
        raise ConfigError(f"--record: directory {args.record.parent} does not exist")


def build_market(args: argparse.Namespace, settings: Settings) -> Market:
    names = None if args.products is None else args.products.split(",")
    products = resolve_products(names)
    start = args.start or dt.datetime.now(dt.UTC)
    rates = Rates(tick=args.tick_rate, quote=args.quote_rate, chain=args.chain_rate)

    def make(r: Rates) -> Market:
        return Market(
            args.seed,
            start,
            products,
            strikes=args.strikes,
            rates=r,
            r=settings.risk_free_rate,
            q=settings.dividend_yield,
            expiry_time=settings.expiry_time_utc,
        )

    market = make(rates)
    if args.load is not None:
        base = market.message_rate()
        if base <= 0.0:
            raise ConfigError("--load needs at least one non-zero rate to scale")
        market = make(rates.scaled(args.load / base))
    return market


def plan(argv: Sequence[str] | None) -> Plan:
    """Parse and validate everything that can be checked before connecting anywhere."""
    args = build_parser().parse_args(argv)
    settings = load_settings()
    _check_combinations(args)
    if args.seed is None:
        args.seed = secrets.randbits(32)
    try:
        market = None if args.replay is not None else build_market(args, settings)
    except (UnknownProductError, ValueError) as exc:
        raise ConfigError(str(exc)) from exc
    return Plan(args, settings, market)


def connect(url: str) -> redis.Redis:
    """A client for ``url`` after one quick ping, or :class:`ConfigError`."""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"--redis-url: expected redis://, rediss:// or unix://, got {url!r}")
    try:
        probe = redis.Redis.from_url(
            url, socket_connect_timeout=2.0, socket_timeout=2.0, retry=Retry(NoBackoff(), 0)
        )
        try:
            probe.ping()
        finally:
            probe.close()
        return make_redis(url)
    except (redis.RedisError, ValueError, OSError) as exc:
        raise ConfigError(f"cannot reach Redis at {url}: {exc}") from exc


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` (main thread only); previous handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        logger.info("stopping", extra={"signal": signal.Signals(signum).name})
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def open_sinks(plan_: Plan, stack: contextlib.ExitStack) -> list[Sink]:
    args = plan_.args
    sinks: list[Sink] = []
    if args.record is not None:
        try:
            writer = CaptureWriter(args.record)
        except OSError as exc:
            raise ConfigError(f"--record: cannot write {args.record}: {exc}") from exc
        sinks.append(stack.enter_context(contextlib.closing(CaptureSink(writer))))
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
    return sinks


def execute(plan_: Plan, sinks: list[Sink], stop: threading.Event) -> None:
    """Generate or replay until the duration, the capture's end or a stop request."""
    args = plan_.args
    progress = Progress(interval=args.progress_interval)
    if plan_.market is None:
        speed = 1.0 if args.speed is None else args.speed
        shown = "max" if math.isinf(speed) else speed
        logger.info("replaying", extra={"capture": str(args.replay), "speed": shown})
        records = read_capture(args.replay)
        run_replay(
            records,
            sinks,
            stop,
            speed=None if math.isinf(speed) else speed,
            restamp=args.restamp,
            duration=args.duration,
            progress=progress,
        )
        return
    # Without --start the clock starts now, after the set-up, not when the plan was made.
    market = plan_.market if args.start is not None else build_market(args, plan_.settings)
    rates = market.rates
    logger.info(
        "generating",
        extra={
            "seed": market.seed,
            "start": market.start.isoformat(),
            "products": [p.name for p in market.products],
            "strikes": market.strikes,
            "rates": {"tick": rates.tick, "quote": rates.quote, "chain": rates.chain},
            "expected_rate_per_s": round(market.message_rate(), 1),
            "realtime": not args.no_publish,
            "record": str(args.record) if args.record else None,
        },
    )
    realtime = not args.no_publish
    run_market(market, sinks, stop, duration=args.duration, realtime=realtime, progress=progress)


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
    configure_logging("feed_generator", plan_.args.log_level or plan_.settings.log_level)
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
