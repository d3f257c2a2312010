"""Helpers of the Locust load test (``tests/load/locustfile.py``).

``plan`` is plain Python (the unit tests import it); ``api``, ``live`` and ``shapes``
run inside Locust only: importing Locust monkey-patches the standard library with
gevent, which must never happen inside the pytest process.
"""
