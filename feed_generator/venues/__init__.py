"""Venue connectors and the venue-independent resilience toolkit they share.

A venue is a source of normalised market messages on the ``market:*`` channels
(:mod:`feed_generator.venues.base` describes the seam). The toolkit holds no
venue specifics; each piece takes its time (``clock``, ``sleep``, ``rng``) as
arguments so that tests run on a fake clock:

- ``backoff``: capped exponential backoff with full jitter, for reconnects;
- ``ratebudget``: a local credit budget that keeps requests under a venue's limits;
- ``breaker``: a circuit breaker around REST calls;
- ``silence``: the watchdog of a connected-but-silent connection (ping, then replace);
- ``health``: feed health per venue and product (state, message age and rate,
  reconnects, resyncs, dead letters), as a snapshot ready for Redis;
- ``metrics``: the Prometheus series of the connectors.

``base.Venue`` is the protocol every connector provides; ``synthetic.SyntheticVenue``
adapts the synthetic market to it. Each venue's protocol lives in its own
sub-package (``deribit/``).
"""
