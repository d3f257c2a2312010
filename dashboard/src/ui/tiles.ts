// The summary tiles above the chain: spot, ATM IV, PCR, max pain, straddle, expected move, skew,
// net GEX and its flip, data age. A tile of a metric alerts can watch has a bell: an alert on it.
import type { TileMetric } from "../alerts/draft";
import { fmtAge, fmtPct, fmtRatio, fmtVolPts, formatsFor, num, type Formats } from "../format";
import { moneyLevel } from "../chain";
import type { EnrichedChain, EnrichedUnderlying } from "../types";
import { h, setText } from "./dom";
import { bellIcon } from "./icons";

interface Tile {
  el: HTMLElement;
  label: HTMLElement;
  value: HTMLElement;
  sub: HTMLElement;
}

function tile(id: string, label: string, hint: string): Tile {
  const value = h("div", { class: "tile-value", "data-testid": `${id}-value` }, "—");
  const sub = h("div", { class: "tile-sub", "data-testid": `${id}-sub` }, "\u00a0");
  const labelEl = h("div", { class: "tile-label", "data-testid": `${id}-label` }, label);
  const el = h("div", { class: "tile", "data-testid": id, title: hint }, labelEl, value, sub);
  return { el, label: labelEl, value, sub };
}

/** The tiles with a bell, and the metric each one's alert watches. */
const TILE_METRICS: Partial<Record<string, TileMetric>> = {
  spot: "spot",
  atmIv: "atm_iv",
  pcrOi: "pcr_oi",
  pcrVol: "pcr_volume",
  maxPain: "max_pain_strike",
  straddle: "atm_straddle_price",
  rr: "risk_reversal_25d",
  gex: "net_gex",
  flip: "gex_flip",
};

/** The bell of tile `x`: "Create an alert on Spot". */
function alertButton(x: Tile, metric: TileMetric, onAlert: (metric: TileMetric) => void): HTMLButtonElement {
  const name = x.el.dataset.testid ?? metric;
  const label = `Create an alert on ${x.label.textContent ?? metric}`;
  const button = h("button", {
    type: "button",
    class: "tile-alert",
    "data-testid": `${name}-alert`,
    "aria-label": label,
    title: label,
  });
  button.append(bellIcon());
  button.addEventListener("click", () => onAlert(metric));
  return button;
}

export class Tiles {
  readonly el: HTMLElement;
  private readonly t = {
    spot: tile("tile-spot", "Spot", "Last underlying price"),
    atmIv: tile("tile-atm-iv", "ATM IV", "Mean IV of the at-the-money call and put"),
    pcrOi: tile("tile-pcr-oi", "PCR (OI)", "Put OI ÷ call OI"),
    pcrVol: tile("tile-pcr-volume", "PCR (Vol)", "Put volume ÷ call volume"),
    maxPain: tile("tile-max-pain", "Max pain", "Strike where option writers pay out least at expiry"),
    straddle: tile("tile-atm-straddle", "ATM straddle", "ATM call + put price"),
    move: tile("tile-expected-move", "Expected move", "One standard deviation to expiry: spot × ATM IV × √T"),
    rr: tile("tile-skew", "25Δ RR (skew)", "25-delta risk reversal: IV of the 25-delta call − IV of the 25-delta put"),
    fly: tile("tile-butterfly", "25Δ Butterfly", "Mean IV of the 25-delta call and put − ATM IV"),
    gex: tile("tile-net-gex", "Net GEX", "Dealer gamma exposure of calls and puts, per 1 % move of the underlying"),
    flip: tile("tile-gex-flip", "GEX flip", "Spot level where net dealer gamma changes sign (nearest within ±20 %)"),
    age: tile("tile-data-age", "Data age", "Time since the newest chain's timestamp"),
  };
  private chainTs: number | null = null;
  private spotPrev: number | null = null;
  /** The formats of the selection's currency (set with each chain or tick). */
  private f: Formats = formatsFor(null);

  /** `onAlert`: a tile's bell was pressed (no bells without it). */
  constructor(onAlert?: (metric: TileMetric) => void) {
    this.el = h("section", { class: "tiles", "data-testid": "tiles" }, ...Object.values(this.t).map((x) => x.el));
    for (const [key, x] of Object.entries(this.t)) {
      const metric = TILE_METRICS[key];
      if (metric && onAlert) x.label.after(alertButton(x, metric, onAlert));
    }
  }

  clear(): void {
    for (const x of Object.values(this.t)) {
      x.value.textContent = "—";
      x.sub.textContent = "\u00a0";
      x.value.classList.remove("pos", "neg");
    }
    this.chainTs = null;
    this.spotPrev = null;
    setText(this.t.spot.label, "Spot");
  }

  /** The chain's statistics, numbers in `f` (the selection's currency). */
  chain(c: EnrichedChain, hasLiveSpot: boolean, f: Formats): void {
    const t = this.t;
    this.currency(f);
    if (!hasLiveSpot) this.spot(c.spot_price);
    setText(t.spot.sub, `ATM ${f.strike(c.atm_strike)}`);
    setText(t.pcrOi.value, fmtRatio(c.pcr_oi));
    setText(t.pcrOi.sub, `P ${f.compact(c.total_put_oi)} / C ${f.compact(c.total_call_oi)}`);
    setText(t.pcrVol.value, fmtRatio(c.pcr_volume));
    const sums = (rows: EnrichedChain["calls"]) => rows.reduce((a, r) => a + (num(r?.volume) ?? 0), 0);
    setText(t.pcrVol.sub, `P ${f.compact(sums(c.puts))} / C ${f.compact(sums(c.calls))}`);
    setText(t.maxPain.value, f.strike(c.max_pain_strike));
    const mp = num(c.max_pain_strike);
    setText(t.maxPain.sub, mp === null ? "\u00a0" : `${f.signedQty(Math.round(mp - c.spot_price))} from spot`);
    setText(t.straddle.value, f.price(c.atm_straddle_price));
    setText(t.straddle.sub, num(c.atm_iv) !== null ? `ATM IV ${fmtPct(c.atm_iv)}` : `ATM ${f.strike(c.atm_strike)}`);
    const em = num(c.expected_move);
    const level = moneyLevel(c); // the move is F·σ·√T around the forward
    setText(t.move.value, em === null ? "—" : `±${f.num(em, em >= 1000 ? 0 : 2)}`);
    setText(t.move.sub, em === null || !level ? "\u00a0" : `${f.num(level - em, 0)} – ${f.num(level + em, 0)}`);
    setText(t.rr.value, fmtVolPts(c.risk_reversal_25d));
    const rr = num(c.risk_reversal_25d);
    setText(t.rr.sub, rr === null ? "\u00a0" : rr < 0 ? "puts richer" : rr > 0 ? "calls richer" : "flat");
    tone(t.rr.value, rr);
    setText(t.fly.value, fmtVolPts(c.butterfly_25d));
    setText(t.fly.sub, num(c.butterfly_25d) === null ? "\u00a0" : "wings vs ATM");
    this.gamma(c, f);
    this.chainTs = Date.parse(c.timestamp);
    this.tick(Date.now());
  }

  /** ATM IV, net GEX (its calls' and puts' parts) and the flip (its distance from spot). */
  private gamma(c: EnrichedChain, f: Formats): void {
    const t = this.t;
    setText(t.atmIv.value, fmtPct(c.atm_iv));
    setText(t.atmIv.sub, `ATM ${f.strike(c.atm_strike)}`);
    const net = num(c.net_gex);
    setText(t.gex.value, f.compact(net));
    setText(t.gex.sub, net === null ? "\u00a0" : `C ${f.compact(c.call_gex)} / P ${f.compact(c.put_gex)}`);
    tone(t.gex.value, net);
    const flip = num(c.gex_flip);
    setText(t.flip.value, f.num(flip, 2));
    setText(
      t.flip.sub,
      flip === null ? "none within ±20 %" : `${f.signedQty(Math.round(flip - c.spot_price))} from spot`,
    );
  }

  underlying(u: EnrichedUnderlying, f: Formats): void {
    this.currency(f);
    this.spot(u.price);
  }

  /** Numbers in `f` from now on; the spot tile names the currency. */
  private currency(f: Formats): void {
    this.f = f;
    setText(this.t.spot.label, `Spot · ${f.currency}`);
  }

  /** Refresh the data age (called every second). */
  tick(now: number): void {
    setText(
      this.t.age.value,
      this.chainTs === null || !Number.isFinite(this.chainTs) ? "—" : fmtAge(now - this.chainTs),
    );
    if (this.chainTs !== null && Number.isFinite(this.chainTs)) {
      const d = new Date(this.chainTs);
      setText(this.t.age.sub, `at ${d.toLocaleTimeString("en-IN", { hour12: false })}`);
    }
  }

  private spot(price: number): void {
    const v = this.t.spot.value;
    setText(v, this.f.price(price));
    if (this.spotPrev !== null && price !== this.spotPrev) tone(v, price - this.spotPrev);
    this.spotPrev = price;
  }
}

function tone(el: HTMLElement, v: number | null): void {
  el.classList.toggle("pos", v !== null && v > 0);
  el.classList.toggle("neg", v !== null && v < 0);
}
