// Paper-trading documents for the unit tests, as paper_service sends them (docs/API.md "Paper
// trading"): amounts are decimal strings.
//
// The straddle: 75 units each of the NIFTY 2026-11-26 24,000 call bought at its ask 120.5
// (notional 75 × 120.5 = 9,037.50, fee 4.52) and the 24,000 put at 98.25 (7,368.75, fee 3.68).
// From a start of 1,000,000.00 the cash is 1,000,000 − 9,037.50 − 4.52 − 7,368.75 − 3.68 =
// 983,585.55.

const T = "2026-11-21T09:41:00.120Z";

export function fillDoc(
  orderId: string,
  cid: string,
  optionType: "CALL" | "PUT",
  price: string,
  notional: string,
  fee: string,
) {
  return {
    id: `${orderId}.000001`,
    owner: "u1",
    kind: "FILL",
    order_id: orderId,
    client_order_id: cid,
    product: "NIFTY",
    expiry: "2026-11-26",
    strike: "24000",
    option_type: optionType,
    currency: "INR",
    side: "BUY",
    quantity: "75",
    price,
    notional,
    fee,
    realized_pnl: "0.00",
    market_ts: "2026-11-21T09:41:00.000Z",
    at: T,
  };
}

export function orderDoc(over: Record<string, unknown> = {}) {
  return {
    id: "po_CALLxxxxxxxxxxxxxxxxxx",
    owner: "u1",
    client_order_id: "dash-1-1",
    product: "NIFTY",
    currency: "INR",
    expiry: "2026-11-26",
    strike: "24000",
    option_type: "CALL",
    side: "BUY",
    quantity: "75",
    type: "MARKET",
    limit_price: null,
    state: "FILLED",
    reason: null,
    filled_quantity: "75",
    average_price: "120.50000000",
    basket_id: "pb_1",
    market_ts: "2026-11-21T09:41:00.000Z",
    created_at: T,
    updated_at: T,
    ...over,
  };
}

/** `POST /api/paper/baskets`' 201 for the straddle, both legs filled. */
export function straddleBasket(state = "FILLED", reason: string | null = null) {
  const filled = state === "FILLED";
  return {
    orders: [
      orderDoc({
        state,
        reason,
        filled_quantity: filled ? "75" : "0",
        average_price: filled ? "120.50000000" : null,
        fills: filled ? [fillDoc("po_CALLxxxxxxxxxxxxxxxxxx", "dash-1-1", "CALL", "120.5", "9037.50", "4.52")] : [],
      }),
      orderDoc({
        id: "po_PUTxxxxxxxxxxxxxxxxxxx",
        client_order_id: "dash-1-2",
        option_type: "PUT",
        state,
        reason,
        filled_quantity: filled ? "75" : "0",
        average_price: filled ? "98.25000000" : null,
        fills: filled ? [fillDoc("po_PUTxxxxxxxxxxxxxxxxxxx", "dash-1-2", "PUT", "98.25", "7368.75", "3.68")] : [],
      }),
    ],
  };
}

export const ACCOUNT_DOC = {
  currency: "INR",
  cash: "983585.55",
  margin_used: "0.00",
  free: "983585.55",
  equity: "999950.30",
  realized_pnl: "0.00",
  unrealized_pnl: "-44.50",
  fees: "8.20",
};

export const POSITION_DOC = {
  product: "NIFTY",
  expiry: "2026-11-26",
  strike: "24000",
  option_type: "CALL",
  currency: "INR",
  quantity: "75",
  cost: "9037.50",
  average_cost: "120.5",
  realized_pnl: "0.00",
  margin: "0.00",
  mark: "120",
  value: "9000.00",
  unrealized_pnl: "-37.50",
  stale: false,
  updated_at: T,
};
