// The reference price of the selected product with its sources, under the tiles: the price, what
// it is made of ("median of 2 live sources of 3", or held while its live sources disagree), and
// one chip per source — name, price, distance
// from the reference, age, and its state in words and colour (quarantined and stale marked).
// Hidden while the shown tick carries no sources (a product priced by one feed).
import {
  SOURCE_STATE_HINT,
  SOURCE_STATE_LABEL,
  deviationBps,
  elapsedSince,
  fmtBps,
  fmtSourceAge,
  orderSources,
  referenceNote,
  referenceState,
  sourceAgeMs,
} from "../sources";
import type { DashState } from "../state/model";
import { formatsOf, selectionReferenceStale } from "../state/select";
import type { EnrichedUnderlying, SourcePrice } from "../types";
import type { Formats } from "../format";
import { field, h, setText } from "../ui/dom";
import type { View } from "./view";

interface Row {
  el: HTMLElement;
  price: HTMLElement;
  deviation: HTMLElement;
  age: HTMLElement;
  state: HTMLElement;
}

function row(source: string): Row {
  const [price, deviation] = [field("source-price"), field("source-deviation")];
  const [age, state] = [field("source-age"), field("source-state")];
  const el = h(
    "li",
    { class: "source", "data-testid": "reference-source", "data-source": source },
    h("span", { class: "dot", "aria-hidden": "true" }),
    h("span", { class: "source-name", "data-testid": "source-name" }, source),
    price,
    deviation,
    age,
    state,
  );
  return { el, price, deviation, age, state };
}

export class ReferenceView implements View {
  readonly el: HTMLElement;
  private readonly price = field("reference-price");
  private readonly note = field("reference-note");
  private readonly list = h("ul", {
    class: "reference-sources",
    "data-testid": "reference-sources",
    "aria-label": "Sources of the reference price",
  });
  private readonly rows = new Map<string, Row>();

  constructor() {
    this.el = h(
      "section",
      { class: "reference", "data-testid": "reference", "aria-label": "Reference price", hidden: true },
      h("span", { class: "reference-title" }, "Reference"),
      this.price,
      this.note,
      this.list,
    );
  }

  update(s: DashState, p: DashState): void {
    const same = s.data.underlying === p.data.underlying && s.feeds.list === p.feeds.list;
    if (same && s.now === p.now) return;
    this.draw(s);
  }

  private draw(s: DashState): void {
    const u = s.data.underlying;
    const sources = u?.sources;
    this.el.hidden = !u || !sources;
    if (!u || !sources) {
      this.keepOnly(new Set());
      return;
    }
    const f = formatsOf(s);
    this.el.dataset.stale = String(selectionReferenceStale(s));
    this.el.dataset.state = referenceState(u.price, sources);
    setText(this.price, `${f.price(u.price)} ${f.currency}`);
    setText(this.note, referenceNote(u.price, sources));
    const elapsed = elapsedSince(u, s.now);
    for (const source of orderSources(sources)) {
      let r = this.rows.get(source.source);
      if (!r) {
        r = row(source.source);
        this.rows.set(source.source, r);
      }
      this.list.append(r.el); // in the listed order
      fill(r, source, u, f, elapsed);
    }
    this.keepOnly(new Set(sources.map((x) => x.source)));
  }

  private keepOnly(names: Set<string>): void {
    for (const [name, r] of this.rows) {
      if (names.has(name)) continue;
      r.el.remove();
      this.rows.delete(name);
    }
  }
}

/** One source's chip, from the tick `u` it came with, `elapsedMs` after the worker enriched it. */
function fill(r: Row, src: SourcePrice, u: EnrichedUnderlying, f: Formats, elapsedMs: number): void {
  r.el.dataset.state = src.state;
  r.el.title = `${src.source}: ${SOURCE_STATE_LABEL[src.state]} — ${SOURCE_STATE_HINT[src.state]}`;
  setText(r.price, f.price(src.price));
  setText(r.deviation, fmtBps(deviationBps(src.price, u.price)));
  setText(r.age, fmtSourceAge(sourceAgeMs(src, elapsedMs)));
  setText(r.state, SOURCE_STATE_LABEL[src.state]);
}
