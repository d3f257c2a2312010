"""``python -m feed_generator``: the same as ``optionsflow-feed``."""

from __future__ import annotations

from feed_generator.cli import main

raise SystemExit(main())
