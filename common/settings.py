"""Typed settings read once from the environment, with one-machine defaults.

Every service calls :func:`load_settings` at start-up; nothing else reads
``os.environ``. Invalid values raise :class:`SettingsError` with the variable
name, so a bad configuration is a one-line message, not a traceback.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from environs import Env, EnvError
from marshmallow.validate import OneOf, Range

from common.conventions import (
    DEFAULT_DIVIDEND_YIELD,
    DEFAULT_EXPIRY_TIME_UTC,
    DEFAULT_RISK_FREE_RATE,
)


class SettingsError(ValueError):
    """A configuration value is missing or invalid."""


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


@dataclass(frozen=True, slots=True)
class Settings:
    env: Environment
    log_level: str
    redis_url: str | None
    """``None`` means: start an embedded redis-server on a free port."""
    store_url: str
    var_dir: Path
    sentry_dsn: str | None
    risk_free_rate: float
    """Continuously compounded, per year (0.065 = 6.5 %)."""
    dividend_yield: float
    """Continuous yield per year applied to every product unless it has its own."""
    expiry_time_utc: dt.time
    """Time of day (UTC) at which options expire on their expiry date."""
    jwt_private_key_path: Path | None
    jwt_public_key_path: Path | None

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION


def _parse_time(text: str, name: str) -> dt.time:
    try:
        return dt.time.fromisoformat(text)
    except ValueError as exc:
        raise SettingsError(f"{name}: expected HH:MM, got {text!r}") from exc


def load_settings() -> Settings:
    """Read and validate settings from the process environment."""
    env = Env(eager=True)
    try:
        var_dir = Path(env.str("VAR_DIR", "var"))
        settings = Settings(
            env=Environment(
                env.str("ENV", "development", validate=OneOf([e.value for e in Environment]))
            ),
            log_level=env.str(
                "LOG_LEVEL", "INFO", validate=OneOf(["DEBUG", "INFO", "WARNING", "ERROR"])
            ),
            redis_url=env.str("REDIS_URL", None) or None,
            store_url=env.str("STORE_URL", f"sqlite:///{var_dir / 'optionsflow.db'}"),
            var_dir=var_dir,
            sentry_dsn=env.str("SENTRY_DSN", None) or None,
            risk_free_rate=env.float(
                "RISK_FREE_RATE", DEFAULT_RISK_FREE_RATE, validate=Range(-0.2, 1.0)
            ),
            dividend_yield=env.float(
                "DIVIDEND_YIELD", DEFAULT_DIVIDEND_YIELD, validate=Range(-0.2, 1.0)
            ),
            expiry_time_utc=_parse_time(
                env.str("EXPIRY_TIME_UTC", DEFAULT_EXPIRY_TIME_UTC.strftime("%H:%M")),
                "EXPIRY_TIME_UTC",
            ),
            jwt_private_key_path=env.path("JWT_PRIVATE_KEY_PATH", None),
            jwt_public_key_path=env.path("JWT_PUBLIC_KEY_PATH", None),
        )
    except (EnvError, ValueError) as exc:
        if isinstance(exc, SettingsError):
            raise
        raise SettingsError(f"invalid configuration: {exc}") from exc
    if settings.redis_url is not None and not settings.redis_url.startswith(
        ("redis://", "rediss://", "unix://")
    ):
        raise SettingsError(
            f"REDIS_URL: expected redis://, rediss:// or unix://, got {settings.redis_url!r}"
        )
    if not settings.store_url.startswith(("sqlite:///", "mongodb://", "mongodb+srv://")):
        raise SettingsError(
            f"STORE_URL: expected sqlite:///path or mongodb://…, got {settings.store_url!r}"
        )
    return settings
