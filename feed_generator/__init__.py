"""Synthetic market feed: underlying ticks, option quotes and full chains over Redis Pub/Sub.

Computation and I/O live apart:

- the model, pure and deterministic (no I/O): ``products`` (the simulated
  products), ``expiries`` (weekly and monthly calendars), ``process`` (jump
  diffusion with stochastic volatility), ``smile`` (SSVI surface),
  ``quoting`` (tick rounding and spreads), ``book`` (one expiry's quotes,
  volume and open interest), ``messages`` (the wire dicts) and ``market``
  (``Market``: schedules every stream and returns the messages due);
- the edges: ``capture`` (gzip JSON-lines files), ``publisher`` (Redis
  pipelines and capture sinks), ``runner`` (pacing against the wall clock,
  progress logs) and ``cli`` (``optionsflow-feed`` / ``python -m feed_generator``).

``seq`` starts at 0 and rises by one per (channel, product); one counter covers
all of a product's expiries on the chain channel. It restarts at 0 with every
process start, and a replay publishes the recorded values.
"""
