"""Analytics alerts, the pure part: rules, the values they watch, and their evaluation.

- ``rules``: what a user asks for (:class:`~alerts.rules.AlertRule`: a product, a metric,
  an operator and a threshold), its validation with errors naming the field;
- ``values``: each rule's metric read from an enriched chain or underlying tick;
- ``evaluate``: the rules of a product evaluated together (NumPy, one pass per message)
  against their state (the previous value, the last trigger), giving the rules that fire
  and the new state.

No I/O: the worker keeps the state in Redis and delivers what fires; the services keep
the rules in the store. Like ``optionsmath``, it is tested and benchmarked alone.
"""
