// The pure parts of the views: labels and what is shown beside the chain (the DOM is tested in
// the browser, tests/e2e).
import { describe, expect, it } from "vitest";
import { parseHash } from "../hash";
import { initialState, type Action, type DashState } from "../state/model";
import { reduce } from "../state/reducer";
import { PRODUCTS, TODAY, btcChain, chain } from "../test/fixtures";
import { hasMarkIv } from "../ui/chainTable";
import { forwardText } from "./chainPanel";
import { productLabel } from "./header";

const T0 = "2026-11-21T09:41:00.000Z";
const showing = (hash: string, ...actions: Action[]): DashState =>
  [
    { type: "signedIn", username: "alice", selection: parseHash(hash) } as Action,
    { type: "productsListed", products: PRODUCTS, today: TODAY } as Action,
    ...actions,
  ].reduce(reduce, initialState(parseHash(hash)));

describe("product selector", () => {
  it("labels each product with its venue and currency, and stale ones as stale", () => {
    expect(productLabel(PRODUCTS[2], false)).toBe("BTC · deribit · USD");
    expect(productLabel(PRODUCTS[0], true)).toBe("NIFTY · synthetic · INR (stale)");
    expect(productLabel({ product: "NIFTY", expiries: [] }, false)).toBe("NIFTY");
  });
});

describe("chain panel", () => {
  it("shows the venue's forward and where it comes from, in the chain's currency", () => {
    const btc = showing("#product=BTC&expiry=2026-11-27", {
      type: "chainLive",
      chain: btcChain(T0),
      now: 1,
    });
    expect(forwardText(btc)).toBe("95,250.50 (the venue's)");
    const parity = reduce(btc, {
      type: "chainLive",
      chain: btcChain("2026-11-21T09:41:01.000Z", { forward: 1234567.891, forward_source: "parity" }),
      now: 2,
    });
    expect(forwardText(parity)).toBe("1,234,567.89 (put-call parity)");
    expect(forwardText(showing("", { type: "chainLive", chain: chain(T0), now: 1 }))).toBeNull();
  });

  it("shows the mark IV column only for chains that carry it", () => {
    expect(hasMarkIv(btcChain(T0))).toBe(true);
    expect(hasMarkIv(chain(T0))).toBe(false);
  });
});
