// The summary tiles, from the state: the chain's statistics once per frame, spot on every tick,
// the data age every second.
import type { DashState } from "../state/model";
import { formatsOf } from "../state/select";
import { Tiles } from "../ui/tiles";
import { FrameTask, type View } from "./view";

export class TilesView implements View {
  private readonly tiles = new Tiles();
  readonly el = this.tiles.el;
  private state: DashState | null = null;
  private readonly draw = new FrameTask(() => {
    const s = this.state;
    if (s?.data.chain) this.tiles.chain(s.data.chain, s.data.liveSpotSeen, formatsOf(s));
  });

  update(s: DashState, p: DashState): void {
    this.state = s;
    const d = s.data;
    if (d.gen !== p.data.gen) this.tiles.clear();
    if (d.underlying && d.underlying !== p.data.underlying) this.tiles.underlying(d.underlying, formatsOf(s));
    if (d.chain && d.chain !== p.data.chain) this.draw.request();
    if (s.now !== p.now) this.tiles.tick(s.now);
  }

  destroy(): void {
    this.draw.cancel();
  }
}
