import { describe, expect, it } from "vitest";
import { Store } from "./store";

type Add = { add: number };
const sum = (s: number, a: Add) => s + a.add;

describe("Store", () => {
  it("tells listeners each change with the state before it, and nothing when unchanged", () => {
    const store = new Store(sum, 0);
    const seen: [number, number][] = [];
    const stop = store.subscribe((s, p) => seen.push([s, p]));
    store.dispatch({ add: 2 });
    store.dispatch({ add: 0 });
    store.dispatch({ add: 3 });
    stop();
    store.dispatch({ add: 1 });
    expect(seen).toEqual([
      [2, 0],
      [5, 2],
    ]);
    expect(store.state).toBe(6);
  });

  it("runs an action dispatched by a listener after every listener saw the change before it", () => {
    const store = new Store(sum, 0);
    const seen: string[] = [];
    store.subscribe((s, p) => {
      seen.push(`a ${p}->${s}`);
      if (s === 1) store.dispatch({ add: 10 });
    });
    store.subscribe((s, p) => seen.push(`b ${p}->${s}`));
    store.dispatch({ add: 1 });
    expect(seen).toEqual(["a 0->1", "b 0->1", "a 1->11", "b 1->11"]);
  });

  it("does not call a listener removed by an earlier one in the same round", () => {
    const store = new Store(sum, 0);
    const seen: string[] = [];
    let stopB = () => {};
    store.subscribe(() => stopB());
    stopB = store.subscribe(() => seen.push("b"));
    store.dispatch({ add: 1 });
    expect(seen).toEqual([]);
  });
});
