import { describe, expect, it } from "vitest";
import { readPeer, safeColor } from "./presence";

describe("readPeer", () => {
  it("shows a well-formed peer as it is", () => {
    expect(
      readPeer(
        7,
        {
          user: { name: "Ada", color: "#ff7a7a" },
          camera: { yawDeg: 10, pitchDeg: 5, distance: 0.7 },
          dragging: "hair",
        },
        1,
      ),
    ).toEqual({
      clientId: 7,
      name: "Ada",
      color: "#ff7a7a",
      self: false,
      dragging: "hair",
      camera: { yawDeg: 10, pitchDeg: 5, distance: 0.7 },
    });
  });

  it("never passes an object as a name (React would throw rendering it)", () => {
    expect(readPeer(7, { user: { name: { boom: 1 }, color: "#ffffff" } }, 1)).toBeNull();
    expect(readPeer(7, { user: "Ada" }, 1)).toBeNull();
    expect(readPeer(7, null, 1)).toBeNull();
  });

  it("replaces a colour that is not #rrggbb, so no peer makes the page load a URL", () => {
    expect(readPeer(7, { user: { name: "Eve", color: "url(https://evil.example/x.png)" } }, 1)!.color).toBe("#888888");
    expect(safeColor("#12345")).toBe("#888888");
    expect(safeColor("red;background:url(x)")).toBe("#888888");
  });

  it("drops a camera with a non-finite or missing number and a non-string dragging", () => {
    const peer = readPeer(
      3,
      {
        user: { name: "Bob", color: "#000000" },
        camera: { yawDeg: "1", pitchDeg: 0, distance: 1 },
        dragging: { x: 1 },
      },
      3,
    )!;
    expect(peer.camera).toBeNull();
    expect(peer.dragging).toBeNull();
    expect(peer.self).toBe(true);
  });

  it("cuts an overlong name to 40 characters", () => {
    expect(readPeer(2, { user: { name: "x".repeat(5000), color: "#000000" } }, 1)!.name).toHaveLength(40);
  });
});
