// The summary tiles, from the state: the chain's statistics once per frame, spot on every tick,
// the data age every second; a tile's bell opens the alert form on its metric.
import type { DashState } from "../state/model";
import { formatsOf } from "../state/select";
import { Tiles } from "../ui/tiles";
import { FrameTask, type Intents, type View } from "./view";

export class TilesView implements View {
  private readonly tiles: Tiles;
  readonly el: HTMLElement;
  private state: DashState | null = null;
  private readonly draw = new FrameTask(() => {
    const s = this.state;
    // Travelling, spot is the stored chain's, not the live tick's.
    if (s?.data.chain) this.tiles.chain(s.data.chain, s.data.liveSpotSeen && s.travel.at === null, formatsOf(s));
  });

  constructor(intents: Intents) {
    this.tiles = new Tiles((metric) => intents.alerts.fromTile(metric));
    this.el = this.tiles.el;
  }

  update(s: DashState, p: DashState): void {
    this.state = s;
    const d = s.data;
    const past = s.travel.at;
    if (d.gen !== p.data.gen || (!d.chain && p.data.chain)) this.tiles.clear();
    const spotMoved = d.underlying !== p.data.underlying || past !== p.travel.at;
    if (d.underlying && spotMoved && past === null) this.tiles.underlying(d.underlying, formatsOf(s));
    if (d.chain && d.chain !== p.data.chain) this.draw.request();
    if (s.now !== p.now) this.tiles.tick(s.now);
  }

  destroy(): void {
    this.draw.cancel();
  }
}
