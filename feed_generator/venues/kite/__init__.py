"""Kite Connect (Zerodha): NSE index options, with the venue's protocol kept at the edge.

``packets`` (binary ticker frames → typed packets, text frames, the subscribe/mode
requests), ``instruments`` (the instruments CSV → typed rows, and the selection of an
underlying's options and index) and ``sim`` (a local Kite with faults on demand). The
connector that drives them is built on ``feed_generator.venues``.

Protocol note (Kite Connect v3, read 2026-12 from the sources named; every call needs
a user's ``api_key`` and daily ``access_token``):

- Ticker: ``wss://ws.kite.trade?api_key=…&access_token=…``. Requests are text JSON
  ``{"a": "subscribe" | "unsubscribe", "v": [tokens]}`` and
  ``{"a": "mode", "v": ["ltp" | "quote" | "full", [tokens]]}``. Up to 3,000 instruments per
  connection and 3 connections per api key (the current page; an older copy says 1,000
  and no connection cap). https://kite.trade/docs/connect/v3/websocket
- Binary frames: ``uint16`` packet count, then per packet a ``uint16`` length and the
  packet; all big-endian. Packets by length: 8 LTP (token, last price); 28 index quote
  (token, last, high, low, open, close, "price change"); 32 index full (+ exchange
  timestamp); 44 quote (token, last, last quantity, average price, volume, total buy and
  sell quantity, open, high, low, close); 184 full (+ last trade time, OI, OI day high,
  OI day low, exchange timestamp, then ten depth entries of 12 bytes — int32 quantity,
  int32 price, int16 orders, 2 bytes padding — five bids then five asks). Times are
  epoch seconds. Segment = ``token & 0xff`` (NSE 1, NFO 2, CDS 3, BSE 4, BFO 5, BCD 6,
  MCX 7, MCXSX 8, INDICES 9); prices ÷100 (paise), CDS ÷10,000,000, BCD ÷10,000.
  A one-byte binary frame is a heartbeat. Text frames are
  ``{"type": "order" | "error" | "message", "data": …}``. Same page; cross-checked with
  zerodha/pykiteconnect ``kiteconnect/ticker.py`` (``_parse_binary``, ``_split_packets``)
  and the segment map of the PHP client's ``KiteTicker``.
- Where sources disagree: the docs say int32; pykiteconnect unpacks every field
  unsigned (``>I``, orders ``>H``). We read prices and quantities signed (a negative one
  is refused as hostile, no real price reaches 2**31 paise) and volume, OI, times and
  order counts unsigned. The index "price change" (bytes 24–28): pykiteconnect ignores
  it and computes a percent from last price and close; a NIFTY 50 packet posted by a
  user on the Kite forum (https://kite.trade/forum/discussion/comment/5126/, decoded in
  our tests) carries −36 there while its last price equals its close, so its unit and
  base are unconfirmed — we pass it ÷ the divisor and rely on nothing downstream. The
  rust ``kiteconnect`` crate also divides segment 12 (NCO) by 10,000; no Zerodha source
  confirms it, and we trade nothing there. Full-packet sizes were 164 bytes in v1 (forum
  posts); v3 is 184 (changelog: OI, OI day high/low, last trade time and exchange time added).
- What an invalid or expired token gets on the ticker: the handshake is refused with
  HTTP 403 ("WebSocket connection upgrade failed (403 - Forbidden)", answered by a Zerodha
  maintainer as an invalid api key or access token:
  https://github.com/zerodha/pykiteconnect/issues/102); the WebSocket page does not say,
  nor what body comes with the 403 (the simulator sends the TokenException JSON). What the
  ticker does past 3,000 instruments or at a fourth connection is not documented: the
  simulator answers a text ``{"type": "error", "data": …}`` frame (and closes the fourth
  connection) — an assumption, see ``sim.server``.
- REST at ``https://api.kite.trade`` with headers ``X-Kite-Version: 3`` and
  ``Authorization: token api_key:access_token``. Errors are
  ``{"status": "error", "message": …, "error_type": …}``: ``TokenException`` after a 403
  (session expired or invalidated: logout, the daily expiry, a login elsewhere),
  ``InputException`` (400), ``NetworkException``, ``DataException``, ``GeneralException``;
  429 is "too many requests". https://kite.trade/docs/connect/v3/exceptions
- ``GET /instruments``: "a gzipped CSV dump", generated once a day, columns
  ``instrument_token, exchange_token, tradingsymbol, name, last_price, expiry, strike,
  tick_size, lot_size, instrument_type, segment, exchange``; options are
  ``instrument_type`` CE/PE, ``segment`` NFO-OPT. The docs' own sample rows are 2015's
  (an option row with an empty ``name``, a MCX row with 11 fields) and are used as-is in
  our tests. Indices are ``segment`` INDICES: NIFTY 50 → 256265, NIFTY BANK → 260105
  (tokens from the docs' and forum examples; FINNIFTY/MIDCPNIFTY tokens unconfirmed).
  https://kite.trade/docs/connect/v3/market-quotes
- ``GET /quote?i=NFO:SYMBOL&i=…``: up to 500 instruments per call (changelog 3.0), about
  one request a second (quote rate; not restated on the current page). Data by
  ``EXCHANGE:SYMBOL``: ``instrument_token``, ``timestamp`` and ``last_trade_time``
  (``YYYY-MM-DD HH:MM:SS`` IST), ``last_price``, ``last_quantity``, ``volume``,
  ``average_price``, ``buy_quantity``, ``sell_quantity``, ``oi``, ``oi_day_high``,
  ``oi_day_low``, ``net_change``, ``lower_circuit_limit``, ``upper_circuit_limit``,
  ``ohlc`` {open, high, low, close}, ``depth`` {buy, sell: [{price, quantity, orders}] × 5}.
"""

from __future__ import annotations
