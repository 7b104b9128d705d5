import { describe, expect, it } from "vitest";
import { main } from "./create";

describe("npm run create", () => {
  it("explains bad command lines", async () => {
    await expect(main([])).rejects.toThrow(/--portrait FILE is required/);
    await expect(main(["--portrait", "a.jpg"])).rejects.toThrow(/--out DIR is required/);
    await expect(main(["--portrait", "a.jpg", "--out", "/tmp/x", "--config", "huge"])).rejects.toThrow(
      /--config takes auto, tiny, compact, paper, got "huge"/,
    );
    await expect(main(["--portrait", "/nonexistent.jpg", "--out", "/tmp/x"])).rejects.toThrow(
      /--portrait: no file \/nonexistent.jpg/,
    );
    await expect(main(["--portrait", "a.jpg", "--wings", "2"])).rejects.toThrow(/unknown option --wings/);
  });
});
