// A minimal observable store: state changes only through `dispatch(action)`, which runs a pure
// reducer; listeners get the new and the previous state and redraw what differs.

export type Reducer<S, A> = (state: S, action: A) => S;
export type Listener<S> = (state: S, prev: S) => void;

export class Store<S, A> {
  private current: S;
  private readonly listeners = new Set<Listener<S>>();
  private readonly queue: A[] = [];
  private busy = false;

  constructor(
    private readonly reducer: Reducer<S, A>,
    initial: S,
  ) {
    this.current = initial;
  }

  get state(): S {
    return this.current;
  }

  /** Call `listener(state, prev)` after every change; returns the unsubscribe function. */
  subscribe(listener: Listener<S>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Apply `action`. An action dispatched by a listener waits until every listener has seen the
   * change being announced, so each listener sees the changes in order, each exactly once.
   */
  dispatch(action: A): void {
    this.queue.push(action);
    if (this.busy) return;
    this.busy = true;
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) this.apply(next);
    } finally {
      // A listener that threw leaves the rest queued: they run, in order, with the next dispatch.
      this.busy = false;
    }
  }

  private apply(action: A): void {
    const prev = this.current;
    const state = this.reducer(prev, action);
    if (state === prev) return;
    this.current = state;
    for (const listener of [...this.listeners]) {
      // One that unsubscribed during this round (a view torn down) is not called.
      if (this.listeners.has(listener)) listener(state, prev);
    }
  }
}
