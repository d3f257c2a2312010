"""The analytics as pure functions: no Flask, no Redis, no store.

Time inside is integer epoch milliseconds (the wire format's resolution);
volatilities are annualised decimals (0.14 = 14 %).
"""
