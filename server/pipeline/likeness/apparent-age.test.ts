import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { decodePortrait } from "../analyse/decode";
import { apparentAge } from "./apparent-age";

// Real photos are read in place from the shared test data (never copied); absent on some machines.
const PORTRAITS = path.resolve("../shared/testdata/portraits");
const PHOTOS = ["person-vlado.jpg", "stock-teen-6.jpg", "stock-models-9.jpg"];

describe("apparent age", () => {
  it.skipIf(!fs.existsSync(PORTRAITS))(
    "finds a face with a plausible age in real photos, the same each time",
    async () => {
      for (const name of PHOTOS) {
        const image = await decodePortrait(await fs.promises.readFile(path.join(PORTRAITS, name)));
        const found = await apparentAge(image);
        expect(found, `a face in ${name}`).not.toBeNull();
        const { age, gender, genderProbability, box } = found!;
        console.log(
          `${name}: age ${age.toFixed(2)}, ${gender} (${genderProbability.toFixed(3)}), box ${Math.round(box.width)} x ${Math.round(box.height)} px`,
        );
        expect(Number.isFinite(age)).toBe(true);
        expect(age).toBeGreaterThanOrEqual(5);
        expect(age).toBeLessThanOrEqual(90);
        expect(["male", "female"]).toContain(gender);
        expect(genderProbability).toBeGreaterThanOrEqual(0.5);
        expect(genderProbability).toBeLessThanOrEqual(1);
        // The box lies on the face, mostly inside the photo.
        expect(box.width).toBeGreaterThan(20);
        expect(box.x + box.width / 2).toBeGreaterThan(0);
        expect(box.x + box.width / 2).toBeLessThan(image.width);
        expect(box.y + box.height / 2).toBeGreaterThan(0);
        expect(box.y + box.height / 2).toBeLessThan(image.height);
        // The same pixels give the same estimate (deterministic wasm kernels).
        const again = await apparentAge(image);
        expect(Math.abs(again!.age - age)).toBeLessThan(1e-6);
        // Found with a border first, the face's box is mapped back onto the same face.
        const bordered = (await apparentAge(image, "always"))!.box;
        const [cx, cy] = [bordered.x + bordered.width / 2, bordered.y + bordered.height / 2];
        expect(cx).toBeGreaterThan(box.x);
        expect(cx).toBeLessThan(box.x + box.width);
        expect(cy).toBeGreaterThan(box.y);
        expect(cy).toBeLessThan(box.y + box.height);
      }
    },
  );

  it("finds no face in a flat grey picture", async () => {
    const size = 256;
    const grey = { width: size, height: size, rgb: new Uint8Array(size * size * 3).fill(128) };
    expect(await apparentAge(grey)).toBeNull();
    expect(await apparentAge(grey, "always")).toBeNull();
  });
});
