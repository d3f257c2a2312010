"""Synthetic market feed: underlying ticks, option quotes and full chains over Redis Pub/Sub.

Computation and I/O live apart:

- the model, pure and deterministic (no I/O): ``products`` (the simulated
  products), ``expiries`` (weekly and monthly calendars), ``session`` (the
  trading hours), ``process`` (jump diffusion with stochastic volatility),
  ``smile`` (SSVI surface), ``quoting`` (tick rounding and spreads), ``book``
  (one expiry's quotes, volume and open interest), ``messages`` (the wire
  dicts) and ``market`` (``Market``: schedules every stream and returns the
  messages due);
- the edges: ``capture`` (gzip JSON-lines files), ``publisher`` (Redis
  pipelines and capture sinks), ``runner`` (pacing against the wall clock,
  progress logs), ``options`` (the command line's parser) and ``cli``
  (``optionsflow-feed`` / ``python -m feed_generator``).

The underlying ticks and every quote updates around the clock, weekends
included, so the feed is never silent; options trade (volume, open interest,
last prices) around the clock in the ``simulated`` session mode (the default of
``FEED_SESSION``), or only in the real session, Monday to Friday 09:15–15:30 IST,
in the ``exchange`` mode (``session``).

``seq`` rises by one per (channel, product) from a per-run base: the simulated
start instant in microseconds since the epoch. A later run therefore continues
above an earlier one, as the store's unique (product, expiry, seq) index needs
(unless a product published more than 10⁶ messages per second of the earlier
run), a run with a fixed ``--start`` repeats its values, and every value stays
below 2**52, an exact JSON integer. One counter covers all of a product's
expiries on the chain channel. A replay publishes the recorded values unchanged:
it is the same messages.
"""
