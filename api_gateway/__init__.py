"""api_gateway (port 8000): the public REST entry: JWT check, rate limits,
routing, trace ids, load shedding, OpenAPI."""
