"""The crash-day load shape: the locustfile exposes it only when
``OPTIONSFLOW_LOAD_PROFILE=crash-day`` (Locust runs any shape class it finds there)."""

from __future__ import annotations

import logging
from argparse import Namespace

from locust import LoadTestShape
from locust.util.timespan import parse_timespan

from .plan import CrashDay

log = logging.getLogger(__name__)


def crash_day_from_options(options: Namespace) -> CrashDay:
    """The profile from the ``--crash-*`` options (see the locustfile's parser)."""
    return CrashDay(
        start_users=int(options.crash_start_users),
        peak_users=int(options.crash_peak_users),
        baseline_s=float(parse_timespan(str(options.crash_baseline))),
        ramp_s=float(parse_timespan(str(options.crash_ramp))),
        hold_s=float(parse_timespan(str(options.crash_hold))),
        spawn_rate=float(options.crash_spawn_rate),
    )


class CrashDayShape(LoadTestShape):
    """``--crash-start-users`` for ``--crash-baseline``, a ramp to ``--crash-peak-users``
    over ``--crash-ramp``, the peak held for ``--crash-hold``; then the run stops."""

    def __init__(self) -> None:
        super().__init__()
        self._plan: CrashDay | None = None

    def tick(self) -> tuple[int, float] | None:
        if self._plan is None:
            assert self.runner is not None
            options = self.runner.environment.parsed_options
            assert options is not None, "the shape runs under Locust's command line"
            self._plan = crash_day_from_options(options)
            plan = self._plan
            log.info(
                "crash-day profile: %d users for %.0f s, up to %d over %.0f s (%.1f users/s), "
                "held %.0f s",
                plan.start_users, plan.baseline_s, plan.peak_users, plan.ramp_s, plan.ramp_rate,
                plan.hold_s,
            )  # fmt: skip
        return self._plan.target(self.get_run_time())
