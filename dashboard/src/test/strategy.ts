// Strategy answers for the unit tests, as paper_service sends them (the contract of issue 19).
//
// The iron condor: 75 units each of the NIFTY 2026-11-26 23,800 put bought at 20, the 23,900 put
// sold at 45, the 24,100 call sold at 50 and the 24,200 call bought at 22. Net premium
// 75·(20 − 45 − 50 + 22) = −3,975 (a credit); at expiry the P&L is 3,975 between the short
// strikes, −75·100 + 3,975 = −3,525 beyond the wings; breakevens 23,900 − 53 = 23,847 and
// 24,100 + 53 = 24,153.
import type { WireLeg } from "../strategy/model";

export const CONDOR_LEGS: WireLeg[] = [
  { product: "NIFTY", expiry: "2026-11-26", strike: 23800, option_type: "PUT", side: "BUY", quantity: 75, price: null },
  {
    product: "NIFTY",
    expiry: "2026-11-26",
    strike: 23900,
    option_type: "PUT",
    side: "SELL",
    quantity: 75,
    price: null,
  },
  {
    product: "NIFTY",
    expiry: "2026-11-26",
    strike: 24100,
    option_type: "CALL",
    side: "SELL",
    quantity: 75,
    price: null,
  },
  {
    product: "NIFTY",
    expiry: "2026-11-26",
    strike: 24200,
    option_type: "CALL",
    side: "BUY",
    quantity: 75,
    price: null,
  },
];

const PRICES = [20, 45, 50, 22];
const IVS = [0.16, 0.155, 0.15, 0.152];

/** The spots of the curves: the wings, the breakevens, the short strikes, spot. */
export const CONDOR_SPOTS = [23700, 23800, 23847, 23900, 24000, 24010, 24100, 24153, 24200, 24300];
/** The P&L at expiry at CONDOR_SPOTS, by hand. */
export const CONDOR_AT_EXPIRY = [-3525, -3525, 0, 3975, 3975, 3975, 3975, 0, -3525, -3525];

/** `POST /api/strategies/evaluate`'s answer for the condor (today's curve and the dates' are
 * smoothed versions of the expiry's; the density a coarse bell). */
export function condorAnswer(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    product: "NIFTY",
    currency: "INR",
    spot: 24010,
    as_of: "2026-11-21T09:41:00.000Z",
    stale: false,
    expiry: "2026-11-26",
    expires_at: "2026-11-26T10:00:00Z",
    legs: CONDOR_LEGS.map((leg, i) => ({ ...leg, price: PRICES[i], iv: IVS[i] })),
    net_premium: -3975,
    breakevens: [23847, 24153],
    max_profit: 3975,
    max_loss: 3525,
    limits_exact: true,
    greeks: { delta: -1.25, gamma: -0.0123, theta: 612.5, vega: -845.25 },
    pop: 0.6234,
    pop_lognormal: 0.5981,
    atm_iv: 0.1523,
    payoff: {
      spots: CONDOR_SPOTS,
      expiry: CONDOR_AT_EXPIRY,
      today: [-2900, -2400, -1900, -600, 900, 950, 700, -1200, -2300, -2800],
      dates: [{ at: "2026-11-24T10:00:00Z", pnl: [-3300, -3100, -1200, 1500, 2900, 2950, 2500, -900, -3000, -3300] }],
    },
    density: {
      spots: [23700, 23850, 24000, 24150, 24300],
      risk_neutral: [0.0002, 0.0011, 0.0021, 0.0012, 0.0003],
      lognormal: [0.0001, 0.0012, 0.0022, 0.0011, 0.0002],
      outside_mass: 0.0042,
    },
    model: "sticky strike; PoP under the Breeden–Litzenberger density of the first expiry's smile",
    ...extra,
  };
}

/** A saved strategy document of `legs` named `name`. */
export function savedDoc(id: string, name: string, legs: WireLeg[] = CONDOR_LEGS): Record<string, unknown> {
  return {
    id,
    owner: "u1",
    name,
    legs,
    note: null,
    created_at: "2026-11-21T09:00:00.000Z",
    updated_at: "2026-11-21T09:00:00.000Z",
  };
}
