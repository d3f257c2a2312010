"""The paper trading repository: its port and the factory choosing its adapter from
``STORE_URL``.

The same URL as the main store (``store.parse_store_url``): ``sqlite:///…`` opens the
tables ``paper_orders``, ``paper_trades``, ``paper_positions`` and ``paper_wallets`` in the
main store's SQLite file, ``mongodb://…`` the collections ``paper_accounts``,
``paper_orders``, ``paper_trades`` and ``paper_positions`` in its database
(docs/PAPER.md). Adapters are imported only when chosen.
"""

from __future__ import annotations

from common.settings import PaperSettings
from paper.rules import AccountRules
from store import parse_store_url
from store.paper.port import MAX_PAGE, ClientOrderIdConflict, Outcome, PaperStore

__all__ = [
    "MAX_PAGE",
    "ClientOrderIdConflict",
    "Outcome",
    "PaperStore",
    "account_rules",
    "open_paper_store",
]


def account_rules(settings: PaperSettings) -> AccountRules:
    """The account rules the ``PAPER_*`` settings give."""
    return AccountRules(
        start_cash=dict(settings.start_cash),
        fee_per_unit=dict(settings.fee_per_unit),
        fee_rate=settings.fee_rate,
        margin_rate=settings.margin_rate,
        margin_floor_rate=settings.margin_floor_rate,
        underlying_margin_rate=settings.underlying_margin_rate,
    )


def open_paper_store(url: str, rules: AccountRules) -> PaperStore:
    """The paper repository at ``url`` under ``rules``; ``ValueError`` naming STORE_URL for
    an unusable URL. Connecting may raise ``StoreUnavailable`` (retry later)."""
    where = parse_store_url(url)
    if where.adapter == "sqlite":
        from store.paper.sqlite import SqlitePaperStore

        return SqlitePaperStore(where.path, rules, busy_timeout_ms=where.busy_timeout_ms)
    from store.paper.mongo import MongoPaperStore

    return MongoPaperStore(url, rules)
