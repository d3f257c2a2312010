// What the paper panel says: an instrument's label, amounts (decimal strings shown in the
// currency's format), P&L's tone, an order's state and reason, a resting order's fill toast.
import { fmtExpiry, type Formats } from "../format";
import { dec, type Instrument, type OrderState, type PaperOrder } from "./model";

export const STATE_LABEL: Record<OrderState, string> = {
  NEW: "Open",
  PARTIALLY_FILLED: "Part filled",
  FILLED: "Filled",
  CANCELLED: "Cancelled",
  REJECTED: "Rejected",
};

/** "NIFTY 24,000 CALL 26 Nov" (expiry as fmtExpiry's date), "NIFTY spot" for the underlying. */
export function instrumentLabel(i: Instrument, f: Formats, today: string): string {
  if (i.option_type === null) return i.expiry ? `${i.product} future ${i.expiry}` : `${i.product} spot`;
  const expiry = i.expiry ? fmtExpiry(i.expiry, today).split(" · ")[0] : "";
  return `${i.product} ${f.strike(dec(i.strike))} ${i.option_type} ${expiry}`.trim();
}

/** An amount (a decimal string) in the currency's format with `decimals`; "—" when unreadable. */
export const money = (v: string | null, f: Formats, decimals = 2): string => f.num(dec(v), decimals);

/** A P&L's sign for its colour: "up", "down" or "" (zero or unreadable). */
export function tone(v: string | null): "up" | "down" | "" {
  const n = dec(v);
  return n === null || n === 0 ? "" : n > 0 ? "up" : "down";
}

/** A signed amount: "+1,250.00", "-37.50", "0.00". */
export function signedMoney(v: string | null, f: Formats): string {
  const n = dec(v);
  if (n === null) return f.num(null);
  return n > 0 ? `+${f.num(n)}` : f.num(n);
}

/** An order's quantity filled of all, and its price: "75 / 75 @ 120.50". */
export function fillText(o: PaperOrder, f: Formats): string {
  const at = o.average_price === null ? "" : ` @ ${f.price(dec(o.average_price))}`;
  return `${f.qty(dec(o.filled_quantity))} / ${f.qty(dec(o.quantity))}${at}`;
}

/** A resting order's fill, for its toast: "Limit BUY NIFTY 24,000 CALL 26 Nov filled: 75 / 75 @ 100.00". */
export function fillToastText(o: PaperOrder, f: Formats, today: string): string {
  const what = o.state === "FILLED" ? "filled" : "part filled";
  return `Limit ${o.side} ${instrumentLabel(o, f, today)} ${what}: ${fillText(o, f)}`;
}
