"""Paper trading, the pure part: the documents, the money, the rules and the decisions.

- ``money``: ``Decimal`` amounts rounded to the minor unit once, where they are made;
- ``documents``: orders, positions, wallets, trades and quotes (msgspec Structs);
- ``checks``: requests and quotes validated, errors naming the field;
- ``rules``: fees, the margin of short positions, intrinsic value at expiry;
- ``positions``: a position after a fill (average cost, realised P&L), marked to market;
- ``account``: placing an order or a basket, filling a resting order, cancelling,
  settling at expiry — each returns the change for the repository to write.

No I/O: ``store.paper`` calls the decisions inside its transaction and writes what they
return. Like ``optionsmath`` and ``alerts``, it is tested alone (docs/PAPER.md).
"""
