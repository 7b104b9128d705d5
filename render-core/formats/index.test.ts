import { describe, expect, it } from "vitest";
import { randomCloud } from "../scenes/random-cloud";
import { readSplatFile, sniffSplatFormat, writeGlb, writePly, writeSplat } from "./index";

describe("readSplatFile", () => {
  const cloud = randomCloud(5, 5);

  it("reads a PLY by its magic whatever its name", () => {
    expect(sniffSplatFormat(writePly(cloud), "scene.bin")).toBe("ply");
    expect(readSplatFile(writePly(cloud)).count).toBe(5);
  });

  it("reads a .splat by its name, or by its length when there is no name", () => {
    expect(readSplatFile(writeSplat(cloud), "scene.SPLAT").count).toBe(5);
    expect(sniffSplatFormat(writeSplat(cloud))).toBe("splat");
    expect(readSplatFile(writeSplat(cloud)).count).toBe(5);
  });

  it("reads a GLB by its magic whatever its name", () => {
    expect(sniffSplatFormat(writeGlb(cloud), "scene.bin")).toBe("glb");
    expect(readSplatFile(writeGlb(cloud)).count).toBe(5);
  });

  it("refuses a file it cannot place, saying why", () => {
    expect(() => readSplatFile(writeSplat(cloud), "notes.txt")).toThrow(
      /^readSplatFile: cannot tell the format of "notes.txt": it is neither a PLY/,
    );
    expect(() => readSplatFile(new Uint8Array(33))).toThrow(
      /^readSplatFile: cannot tell the format of 33 bytes: .* nor a multiple of 32 bytes/,
    );
  });

  it("lets the named reader explain a damaged file", () => {
    expect(() => readSplatFile(new Uint8Array(40), "scene.ply")).toThrow(/^readPly: not a PLY file/);
    expect(() => readSplatFile(new Uint8Array(40), "scene.glb")).toThrow(/^readGlb: not a GLB file/);
    expect(() => readSplatFile(new Uint8Array(40), "scene.splat")).toThrow(
      /^readSplat: 40 bytes is not a whole number/,
    );
  });
});
