// The summary tiles above the chain: spot, PCR, max pain, straddle, expected move, skew, data age.
import { fmtAge, fmtCompact, fmtNum, fmtPct, fmtRatio, fmtSignedInt, fmtStrike, fmtVolPts, num } from "../format";
import type { EnrichedChain, EnrichedUnderlying } from "../types";
import { h, setText } from "./dom";

interface Tile {
  el: HTMLElement;
  value: HTMLElement;
  sub: HTMLElement;
}

function tile(id: string, label: string, hint: string): Tile {
  const value = h("div", { class: "tile-value", "data-testid": `${id}-value` }, "—");
  const sub = h("div", { class: "tile-sub", "data-testid": `${id}-sub` }, "\u00a0");
  const el = h(
    "div",
    { class: "tile", "data-testid": id, title: hint },
    h("div", { class: "tile-label" }, label),
    value,
    sub,
  );
  return { el, value, sub };
}

export class Tiles {
  readonly el: HTMLElement;
  private readonly t = {
    spot: tile("tile-spot", "Spot", "Last underlying price"),
    pcrOi: tile("tile-pcr-oi", "PCR (OI)", "Put OI ÷ call OI"),
    pcrVol: tile("tile-pcr-volume", "PCR (Vol)", "Put volume ÷ call volume"),
    maxPain: tile("tile-max-pain", "Max pain", "Strike where option writers pay out least at expiry"),
    straddle: tile("tile-atm-straddle", "ATM straddle", "ATM call + put price"),
    move: tile("tile-expected-move", "Expected move", "One standard deviation to expiry: spot × ATM IV × √T"),
    rr: tile("tile-skew", "25Δ RR (skew)", "25-delta risk reversal: IV of the 25-delta call − IV of the 25-delta put"),
    fly: tile("tile-butterfly", "25Δ Butterfly", "Mean IV of the 25-delta call and put − ATM IV"),
    age: tile("tile-data-age", "Data age", "Time since the newest chain's timestamp"),
  };
  private chainTs: number | null = null;
  private spotPrev: number | null = null;

  constructor() {
    this.el = h("section", { class: "tiles", "data-testid": "tiles" }, ...Object.values(this.t).map((x) => x.el));
  }

  clear(): void {
    for (const x of Object.values(this.t)) {
      x.value.textContent = "—";
      x.sub.textContent = "\u00a0";
      x.value.classList.remove("pos", "neg");
    }
    this.chainTs = null;
    this.spotPrev = null;
  }

  chain(c: EnrichedChain, hasLiveSpot: boolean): void {
    const t = this.t;
    if (!hasLiveSpot) this.spot(c.spot_price);
    setText(t.spot.sub, `ATM ${fmtStrike(c.atm_strike)}`);
    setText(t.pcrOi.value, fmtRatio(c.pcr_oi));
    setText(t.pcrOi.sub, `P ${fmtCompact(c.total_put_oi)} / C ${fmtCompact(c.total_call_oi)}`);
    setText(t.pcrVol.value, fmtRatio(c.pcr_volume));
    const sums = (rows: EnrichedChain["calls"]) => rows.reduce((a, r) => a + (num(r?.volume) ?? 0), 0);
    setText(t.pcrVol.sub, `P ${fmtCompact(sums(c.puts))} / C ${fmtCompact(sums(c.calls))}`);
    setText(t.maxPain.value, fmtStrike(c.max_pain_strike));
    const mp = num(c.max_pain_strike);
    setText(t.maxPain.sub, mp === null ? "\u00a0" : `${fmtSignedInt(mp - c.spot_price)} from spot`);
    setText(t.straddle.value, fmtNum(c.atm_straddle_price, 2));
    setText(t.straddle.sub, num(c.atm_iv) !== null ? `ATM IV ${fmtPct(c.atm_iv)}` : `ATM ${fmtStrike(c.atm_strike)}`);
    const em = num(c.expected_move);
    setText(t.move.value, em === null ? "—" : `±${fmtNum(em, em >= 1000 ? 0 : 2)}`);
    setText(
      t.move.sub,
      em === null || !c.spot_price ? "\u00a0" : `${fmtNum(c.spot_price - em, 0)} – ${fmtNum(c.spot_price + em, 0)}`,
    );
    setText(t.rr.value, fmtVolPts(c.risk_reversal_25d));
    const rr = num(c.risk_reversal_25d);
    setText(t.rr.sub, rr === null ? "\u00a0" : rr < 0 ? "puts richer" : rr > 0 ? "calls richer" : "flat");
    tone(t.rr.value, rr);
    setText(t.fly.value, fmtVolPts(c.butterfly_25d));
    setText(t.fly.sub, num(c.butterfly_25d) === null ? "\u00a0" : "wings vs ATM");
    this.chainTs = Date.parse(c.timestamp);
    this.tick(Date.now());
  }

  underlying(u: EnrichedUnderlying): void {
    this.spot(u.price);
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
    setText(v, fmtNum(price, 2));
    if (this.spotPrev !== null && price !== this.spotPrev) tone(v, price - this.spotPrev);
    this.spotPrev = price;
  }
}

function tone(el: HTMLElement, v: number | null): void {
  el.classList.toggle("pos", v !== null && v > 0);
  el.classList.toggle("neg", v !== null && v < 0);
}
