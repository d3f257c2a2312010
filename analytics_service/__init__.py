"""analytics_service (port 8004): history series, OI change, IV smile, surface,
term structure, IV rank, realised vs implied volatility and candles."""
