import { afterEach, describe, expect, it, vi } from "vitest";
import { quietRepeats } from "./bus";

describe("quietRepeats", () => {
  afterEach(() => vi.useRealTimers());

  it("says a line once a window, then how many it held back; other lines at once", () => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    const said: string[] = [];
    const quiet = quietRepeats((l) => said.push(l), 60_000);
    for (let i = 0; i < 40; i++) {
      quiet("redis: connect ECONNREFUSED");
      vi.advanceTimersByTime(2_000); // a reconnection attempt every 2 s
    }
    quiet("redis: read ECONNRESET");
    expect(said).toEqual([
      "redis: connect ECONNREFUSED",
      "redis: connect ECONNREFUSED (and 29 more like it)",
      "redis: read ECONNRESET",
    ]);
  });
});
