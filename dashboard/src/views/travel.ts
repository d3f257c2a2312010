// Time travel on the page: the header's control (an instant in UTC, steps of 1 and 5 minutes back
// and forward, "Live") and the banner over the data saying it is not live, with the instant and
// the shown chain's own timestamp. The instant is kept across product and expiry switches.
import type { DashState } from "../state/model";
import { TRAVEL_STEPS_MS, chainNote, notLiveTitle, parseUtcInput, utcInputValue } from "../travel";
import { h, setText } from "../ui/dom";
import type { Intents, View } from "./view";

const MINUTE_MS = 60_000;

function stepButton(ms: number, intents: Intents): HTMLButtonElement {
  const minutes = Math.abs(ms) / MINUTE_MS;
  const back = ms < 0;
  const label = `${back ? "\u2212" : "+"}${minutes}m`;
  const title = `${minutes} minute${minutes === 1 ? "" : "s"} ${back ? "back" : "forward"}`;
  const button = h(
    "button",
    {
      type: "button",
      class: "ghost travel-step",
      "data-testid": `travel-${back ? "back" : "forward"}-${minutes}m`,
      title,
      "aria-label": title,
    },
    label,
  );
  button.addEventListener("click", () => intents.travelStep(ms));
  return button;
}

/** The header's control: shows the instant in UTC while travelling, empty (and "Live" pressed) when live. */
export class TravelControl implements View {
  readonly el: HTMLElement;
  private readonly input = h("input", {
    type: "datetime-local",
    step: 1,
    class: "travel-at",
    "data-testid": "travel-at",
    "aria-label": "Show the chain as stored at this instant, in UTC",
    title: "Show the chain as stored at this instant (UTC)",
  });
  private readonly live = h(
    "button",
    { type: "button", class: "ghost travel-live", "data-testid": "travel-live", "aria-pressed": "true" },
    "Live",
  );
  private readonly forward: HTMLButtonElement[];
  /** The instant shown (null: live), put back in the input when what was typed is no instant. */
  private at: number | null = null;

  constructor(intents: Intents) {
    const [back5, back1, fwd1, fwd5] = TRAVEL_STEPS_MS.map((ms) => stepButton(ms, intents));
    this.forward = [fwd1, fwd5];
    for (const b of this.forward) b.disabled = true;
    this.input.addEventListener("focus", () => (this.input.max = utcInputValue(Date.now())));
    this.input.addEventListener("change", () => {
      const at = parseUtcInput(this.input.value);
      if (at !== null) intents.travel(at);
      else this.input.value = this.at === null ? "" : utcInputValue(this.at);
    });
    this.live.addEventListener("click", () => intents.travel(null));
    const zone = h("span", { class: "travel-zone", "data-testid": "travel-zone", title: "Instants are in UTC" }, "UTC");
    this.el = h(
      "div",
      { class: "travel", role: "group", "aria-label": "Time travel", "data-testid": "travel", "data-mode": "live" },
      back5,
      back1,
      this.input,
      zone,
      fwd1,
      fwd5,
      this.live,
    );
  }

  update(s: DashState, p: DashState): void {
    const at = s.travel.at;
    if (at === p.travel.at) return;
    this.at = at;
    this.el.dataset.mode = at === null ? "live" : "past";
    this.live.setAttribute("aria-pressed", String(at === null));
    for (const b of this.forward) b.disabled = at === null;
    this.input.value = at === null ? "" : utcInputValue(at);
  }
}

/**
 * The banner over the data while travelling: "Not live — as stored at <instant>", the chain's own
 * timestamp (`data-timestamp` on `travel-chain`) or why there is none, and "Back to live"; the newest
 * chain received meanwhile is its `data-held-timestamp`. It marks the data (`data-travel`, class
 * `time-travel`) as the stale view marks staleness, and gives the shown chain's timestamp, live or not
 * (`data-chain-timestamp`).
 */
export class TravelBannerView implements View {
  readonly el: HTMLElement;
  private readonly title = h("strong", { class: "travel-title", "data-testid": "travel-title" });
  private readonly chain = h("span", { class: "travel-chain", "data-testid": "travel-chain" });

  constructor(
    private readonly main: HTMLElement,
    intents: Intents,
  ) {
    const live = h("button", { type: "button", class: "ghost", "data-testid": "travel-banner-live" }, "Back to live");
    live.addEventListener("click", () => intents.travel(null));
    const note = h(
      "span",
      { class: "travel-note" },
      "Live updates keep arriving and are shown again with Live; candles, history, term structure and surface stay live.",
    );
    this.el = h(
      "div",
      { class: "travel-banner", role: "status", "data-testid": "travel-banner", hidden: true },
      this.title,
      this.chain,
      note,
      live,
    );
    main.dataset.travel = "false";
    main.dataset.chainTimestamp = "";
    main.prepend(this.el);
  }

  update(s: DashState, p: DashState): void {
    const { travel: t, data: d } = s;
    if (d.chain !== p.data.chain) this.main.dataset.chainTimestamp = d.chain?.timestamp ?? "";
    if (t === p.travel && d.chain === p.data.chain && d.chainMessage === p.data.chainMessage) return;
    this.el.hidden = t.at === null;
    this.main.classList.toggle("time-travel", t.at !== null);
    this.main.dataset.travel = String(t.at !== null);
    if (t.at === null) return;
    const timestamp = t.pending ? null : (d.chain?.timestamp ?? null);
    setText(this.title, notLiveTitle(t.at));
    setText(this.chain, chainNote(t.at, timestamp, t.pending, d.chainMessage));
    this.chain.dataset.timestamp = timestamp ?? "";
    this.el.dataset.at = new Date(t.at).toISOString();
    this.el.dataset.heldTimestamp = t.held?.timestamp ?? "";
  }
}
