// The feed status strip under the top bar: one status per venue (state, last message age,
// messages per second, the synthetic market's session mode, the connector's detail such as an
// expired access token, the reference venue's sources), the feeds of the selected product marked;
// redrawn at each poll of `GET /api/feeds`.
import type { FeedStatus } from "../api";
import {
  feedDetailText,
  feedOfProduct,
  feedStateLabel,
  fmtMessageAge,
  fmtRate,
  referenceOfProduct,
  referenceSummary,
  sessionLabel,
  tokenExpired,
} from "../feeds";
import { fmtSourceAge, SOURCE_STATE_LABEL } from "../sources";
import type { DashState } from "../state/model";
import { selectionVenue } from "../state/select";
import { field, h, setText } from "../ui/dom";
import type { View } from "./view";

interface Chip {
  el: HTMLElement;
  state: HTMLElement;
  age: HTMLElement;
  rate: HTMLElement;
  session: HTMLElement;
  detail: HTMLElement;
}

function chip(venue: string): Chip {
  const [state, age, rate] = [field("feed-state"), field("feed-age"), field("feed-rate")];
  const [session, detail] = [field("feed-session", true), field("feed-detail", true)];
  const el = h(
    "div",
    { class: "feed", "data-testid": "feed-status", "data-venue": venue, role: "status" },
    h("span", { class: "dot", "aria-hidden": "true" }),
    h("span", { class: "feed-venue", "data-testid": "feed-venue" }, venue),
    state,
    age,
    rate,
    session,
    detail,
  );
  return { el, state, age, rate, session, detail };
}

/** The hover text of a feed: its state and detail, its counters, the products and their sources. */
function hoverText(f: FeedStatus): string {
  const products = f.products.map((p) => `${p.product}${p.stale ? " (stale)" : ""}`).join(", ");
  const said = feedDetailText(f);
  const lines = [
    `${f.venue}: ${feedStateLabel(f)}${f.stale ? " (stopped reporting)" : ""}${said ? `: ${said}` : ""}`,
    `${f.messages.toLocaleString("en-US")} messages, ${f.reconnects} reconnects, ${f.resyncs} resyncs, ${f.dead_letters} dead letters`,
  ];
  if (products) lines.push(`Products: ${products}`);
  for (const p of f.products) {
    if (!p.sources?.length) continue;
    const age = (a: number | null) => (a === null ? "" : `, ${fmtSourceAge(a * 1000)}`);
    const each = p.sources.map((x) => `${x.source} ${SOURCE_STATE_LABEL[x.state]}${age(x.age_s)}`);
    lines.push(`${p.product} sources: ${each.join("; ")}`);
  }
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
      c.el.dataset.detail = f.detail ?? "";
      c.el.classList.toggle("token-expired", tokenExpired(f));
      setText(c.state, feedStateLabel(f));
      setText(c.age, `last msg ${fmtMessageAge(f.last_message_age_s)}`);
      setText(c.rate, fmtRate(f.messages_per_s));
      const session = sessionLabel(f.session);
      c.session.hidden = session === null;
      setText(c.session, session ?? "");
      const said = feedDetailText(f) ?? referenceSummary(f);
      c.detail.hidden = said === null;
      setText(c.detail, said ?? "");
      c.el.title = hoverText(f);
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

  /** Mark the feed that reports the selected product, and the reference feed that prices it. */
  private mark(s: DashState): void {
    const { product } = s.selection;
    const feeds = s.feeds.list;
    const source = product && feeds ? feedOfProduct(feeds, product, selectionVenue(s)) : null;
    const reference = product && feeds ? referenceOfProduct(feeds, product) : null;
    const marked = new Set([source?.feed.venue, reference?.feed.venue]);
    for (const [venue, c] of this.chips) c.el.classList.toggle("selected", marked.has(venue));
  }
}
