"""Synthetic market feed: underlying ticks, option quotes and full chains over Redis Pub/Sub."""
