"""The reference price of an underlying priced by several sources (issue 17).

- ``book``: the aggregator of one product, pure and on an injected clock: each source's
  state (live, stale, down, quarantined) and the reference (median of the live sources);
- ``parity``: the spot implied by put-call parity from an option chain (the ``parity`` source);
- ``router``: the :class:`~feed_generator.publisher.Sink` installed between the venues and the
  real sinks, which turns the venues' ``market:underlying`` ticks into one reference tick
  series per product and sets the chains' ``spot_price`` to the reference;
- ``status``: its feed health entry (venue ``reference``), transition logs and counters;
- ``wiring``: when the feed installs the router, and how (``feed_generator/cli.py``).

docs/VENUES.md, "Reference price", states the rules.
"""
