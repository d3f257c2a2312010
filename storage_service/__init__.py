"""OptionsFlow storage service: the store port and its adapters (``storage_service.store``).

The worker writes enriched snapshots through the port; the read API of this
service (cache-aside over the same port) arrives with its own issue.
"""
