import { describe, expect, it } from "vitest";
import { boxBlur } from "./box-blur";

describe("boxBlur", () => {
  it("spreads a bright pixel over a (2r+1)^2 box, keeps a flat image flat and alpha as it was", () => {
    const W = 9,
      H = 7,
      r = 1;
    const rgba = new Uint8Array(W * H * 4);
    for (let i = 0; i < W * H; i++) rgba.set([0, 90, 200, i % 256], i * 4);
    rgba[(3 * W + 4) * 4] = 225;
    const out = boxBlur(rgba, W, H, 4, r);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const i = (y * W + x) * 4;
        const inside = Math.abs(x - 4) <= r && Math.abs(y - 3) <= r;
        expect(out[i]).toBe(inside ? 25 : 0);
        expect([out[i + 1], out[i + 2], out[i + 3]]).toEqual([90, 200, (y * W + x) % 256]);
      }
    expect(() => boxBlur(rgba, W, H, 3, 1)).toThrow(/is not 9 x 7 x 3/);
  });
});
