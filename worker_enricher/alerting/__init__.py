"""Alerts in the workers: each product's rules evaluated as its enriched data is produced
(``evaluation.py``: rules read from the store on a version change, state in Redis written
only over the state it was computed from), the triggers delivered from an outbox
(``delivery.py``: the ``alert`` Socket.IO event to the owner's room, the history, the
webhook task; ``webhook.py``)."""
