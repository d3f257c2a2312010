// The feed status strip under the top bar: one status per venue (state, last message age,
// messages per second, and the synthetic market's session mode), the venue of the selected
// product marked; redrawn at each poll of `GET /api/feeds`.
import type { FeedStatus } from "../api";
import { FEED_STATE_LABEL, feedOfProduct, fmtMessageAge, fmtRate, sessionLabel } from "../feeds";
import type { DashState } from "../state/model";
import { h, setText } from "../ui/dom";
import type { View } from "./view";

interface Chip {
  el: HTMLElement;
  state: HTMLElement;
  age: HTMLElement;
  rate: HTMLElement;
  session: HTMLElement;
}

function chip(venue: string): Chip {
  const state = h("span", { class: "feed-state", "data-testid": "feed-state" });
  const age = h("span", { class: "feed-age", "data-testid": "feed-age" });
  const rate = h("span", { class: "feed-rate", "data-testid": "feed-rate" });
  const session = h("span", { class: "feed-session", "data-testid": "feed-session", hidden: true });
  const el = h(
    "div",
    { class: "feed", "data-testid": "feed-status", "data-venue": venue, role: "status" },
    h("span", { class: "dot", "aria-hidden": "true" }),
    h("span", { class: "feed-venue", "data-testid": "feed-venue" }, venue),
    state,
    age,
    rate,
    session,
  );
  return { el, state, age, rate, session };
}

/** The hover text of a feed: its counters and the products it reports. */
function detail(f: FeedStatus): string {
  const products = f.products.map((p) => `${p.product}${p.stale ? " (stale)" : ""}`).join(", ");
  const lines = [
    `${f.venue}: ${FEED_STATE_LABEL[f.state]}${f.stale ? " (stopped reporting)" : ""}`,
    `${f.messages.toLocaleString("en-US")} messages, ${f.reconnects} reconnects, ${f.resyncs} resyncs, ${f.dead_letters} dead letters`,
  ];
  if (products) lines.push(`Products: ${products}`);
  return lines.join("\n");
}

export class FeedsView implements View {
  readonly el: HTMLElement;
  private readonly list = h("div", { class: "feeds-list" });
  private readonly note = h("span", { class: "feeds-note", "data-testid": "feeds-note" }, "Feed status…");
  private readonly chips = new Map<string, Chip>();

  constructor() {
    this.el = h(
      "section",
      { class: "feeds", "data-testid": "feeds", "aria-label": "Feed status" },
      h("span", { class: "feeds-title" }, "Feeds"),
      this.list,
      this.note,
    );
  }

  update(s: DashState, p: DashState): void {
    if (s.feeds !== p.feeds) this.draw(s);
    else if (s.selection.product !== p.selection.product) this.mark(s);
  }

  private draw(s: DashState): void {
    const { list, error } = s.feeds;
    const feeds = list ?? [];
    const seen = new Set<string>();
    for (const f of feeds) {
      seen.add(f.venue);
      let c = this.chips.get(f.venue);
      if (!c) {
        c = chip(f.venue);
        this.chips.set(f.venue, c);
      }
      this.list.append(c.el); // in the answer's order (by venue)
      c.el.dataset.state = f.state;
      c.el.dataset.stale = String(f.stale);
      setText(c.state, FEED_STATE_LABEL[f.state]);
      setText(c.age, `last msg ${fmtMessageAge(f.last_message_age_s)}`);
      setText(c.rate, fmtRate(f.messages_per_s));
      const session = sessionLabel(f.session);
      c.session.hidden = session === null;
      setText(c.session, session ?? "");
      c.el.title = detail(f);
    }
    for (const [venue, c] of this.chips) {
      if (!seen.has(venue)) {
        c.el.remove();
        this.chips.delete(venue);
      }
    }
    const text = error ?? (list === null ? "Feed status…" : feeds.length ? "" : "No feed is reporting");
    setText(this.note, text);
    this.note.hidden = !text;
    this.note.classList.toggle("error", error !== null);
    this.mark(s);
  }

  /** Mark the feed that reports the selected product. */
  private mark(s: DashState): void {
    const { product } = s.selection;
    const source = product && s.feeds.list ? feedOfProduct(s.feeds.list, product) : null;
    for (const [venue, c] of this.chips) c.el.classList.toggle("selected", source?.feed.venue === venue);
  }
}
