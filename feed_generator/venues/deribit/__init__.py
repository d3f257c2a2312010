"""Deribit: the venue's protocol kept at the edge — typed frames, parser, normaliser, simulator.

``messages`` (msgspec structs of the frames), ``instruments`` (option names),
``parser`` (raw frames → typed messages or a dead-letter reason), ``normaliser``
(venue messages → ``market:*`` dicts, chain assembly) and ``sim`` (a local server
speaking the protocol, with faults on demand). The connector that drives them
(connection, heartbeats, reconnect, rate budget) is built on ``feed_generator.venues``.

Protocol note (API v2, read 2026-12 from the sources named; public market data needs no key):

- Transport: JSON-RPC 2.0 over WebSocket at ``wss://www.deribit.com/ws/api/v2``; the
  same methods over HTTP as ``GET https://www.deribit.com/api/v2/public/<method>?<params>``
  (subscriptions only over WebSocket). Replies: ``{jsonrpc, id, result | error, usIn, usOut,
  usDiff, testnet}``; errors ``{code, message, data}``.
  https://docs.deribit.com/articles/errors, https://www.npmjs.com/package/@andreiashu/deribit_api
- ``public/subscribe`` ``{channels: [...]}`` → ``result``: the channels subscribed. A
  notification is ``{jsonrpc, method: "subscription", params: {channel, data}}`` (no ``id``).
  https://docs.deribit.com/articles/notifications
- ``ticker.{instrument_name}.{interval}`` (``100ms``, ``agg2``; ``raw`` needs authorisation):
  ``instrument_name``, ``timestamp`` (ms), ``state``, ``best_bid_price``/``best_ask_price``
  and amounts, ``last_price``, ``mark_price``, ``index_price``, ``open_interest``, ``stats``
  {``volume``, ``high``, ``low``, ``price_change``}, and for options ``underlying_price``,
  ``underlying_index``, ``interest_rate``, ``bid_iv``/``ask_iv``/``mark_iv`` (percent),
  ``greeks`` {delta, gamma, vega, theta, rho}. Bid/ask/last may be ``null`` or absent.
  https://docs.deribit.com/subscriptions/market-data/tickerinstrument_nameinterval.md;
  field names cross-checked with nautilus_trader's ``DeribitTickerMsg`` and
  api-evangelist/deribit's ``TickerNotification`` JSON Schema. The docs give no complete
  option ticker example; the sample values in our tests are shaped after an Amberdata
  re-publication of a Deribit option ticker (docs.amberdata.io, market:options:tickers).
- ``deribit_price_index.{btc_usd,eth_usd}``: ``{index_name, price, timestamp}`` (docs'
  own example in the notifications article).
- ``public/get_instruments`` ``{currency, kind: option, expired: false}`` → rows with
  ``instrument_name``, ``expiration_timestamp`` (ms), ``strike``, ``option_type``
  (``call``/``put``), ``base_currency``, ``quote_currency``, ``settlement_currency``,
  ``contract_size``, ``tick_size``, ``min_trade_amount``, ``is_active``,
  ``creation_timestamp``. Names: ``CURRENCY-DMMMYY-STRIKE-C|P`` (npm deribit_api README).
- ``public/get_book_summary_by_currency`` ``{currency, kind: option}`` → rows with
  ``instrument_name``, ``bid_price``, ``ask_price``, ``mid_price``, ``mark_price``, ``last``,
  ``open_interest`` (options: in the base coin), ``volume`` (24 h, base coin),
  ``underlying_price``, ``underlying_index``, ``mark_iv``, ``interest_rate``,
  ``creation_timestamp``. The docs' only example is a *future*-kind request answered with
  an option row that has ``mark_price: 80`` next to ``bid_price: 0.1488`` — inconsistent;
  we trust the schema's descriptions, not that example.
  https://docs.deribit.com/api-reference/market-data/public-get_book_summary_by_currency.md
- ``public/set_heartbeat`` ``{interval}`` (seconds, not less than 10) → ``"ok"``; the server
  then sends ``heartbeat`` notifications, and ``test_request`` ones that must be answered
  with ``public/test``, or it "immediately" closes the connection. The docs do not print
  the notification itself; clients agree on
  ``{method: "heartbeat", params: {type: "heartbeat" | "test_request"}}``, which we use.
  https://docs.deribit.com/api-reference/session-management/public-set_heartbeat.md
- Errors we act on: 10028 ``too_many_requests`` (Deribit's docs list it with "wait and
  retry"; it also ends the WebSocket session, as the brief and client libraries report —
  the docs are silent on the close), 10040 ``retry`` and 10041 ``settlement_in_progress``
  (retry), 11050 ``bad_request``, 13009 ``unauthorized``/invalid token. Sources differ on
  code meanings: the errors article lists 10003/10009 differently from nautilus_trader's
  table (which follows the v2.1.1 reference); only the codes above are relied on.
  https://nautilustrader.io/docs/core-latest/nautilus_deribit/common/consts/static.DERIBIT_RETRY_ERROR_CODES.html
- Inverse options are quoted in the coin: USD = coin price × ``underlying_price``, the
  forward (future or synthetic future) the venue prices the option on, with its IV on
  Black-76 and ``interest_rate`` 0. Options expire at 08:00 UTC.
"""

from __future__ import annotations
