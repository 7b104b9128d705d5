import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../testing/harness";
import { hashToken, newShareToken } from "../auth/access";
import { parseFrameAncestors } from "../config";

describe("embedding a view link", () => {
  let server: TestServer;
  let avatarId: string;
  const link = async (role: "view" | "edit", extra: object = {}) => {
    const token = newShareToken();
    await server.db.shareLink.create({ data: { avatarId, role, tokenHash: hashToken(token), ...extra } });
    return token;
  };

  beforeAll(async () => {
    server = await startTestServer({ embedFrameAncestors: "https://blog.example https://*.news.example" });
    avatarId = (await server.db.avatar.create({ data: { name: 'Ada "the <b>" Lovelace' } })).id;
  });
  afterAll(async () => {
    await server?.close();
  });

  it("lets only the player be framed, by the configured sites; every other page refuses all framing", async () => {
    const view = await link("view");
    const player = await fetch(`${server.url}/embed/${view}`);
    expect(player.status).toBe(200);
    expect(player.headers.get("content-security-policy")).toBe(
      "frame-ancestors https://blog.example https://*.news.example",
    );
    expect(player.headers.get("x-frame-options")).toBeNull();
    // (Next adds its own preload links after ours.)
    expect(player.headers.get("link")).toContain(
      `<${server.url}/api/oembed?format=json&url=${encodeURIComponent(`${server.url}/embed/${view}`)}>; rel="alternate"; type="application/json+oembed"`,
    );
    for (const page of [`/s/${view}`, "/", `/avatars/${avatarId}`, "/healthz"]) {
      const res = await fetch(`${server.url}${page}`);
      expect(res.headers.get("content-security-policy"), page).toBe("frame-ancestors 'none'");
      expect(res.headers.get("x-frame-options"), page).toBe("DENY");
    }
  });

  it("refuses to embed an edit link, and answers dead links as the share page does", async () => {
    const edit = await fetch(`${server.url}/embed/${await link("edit")}`);
    expect(edit.status).toBe(403);
    expect(await edit.text()).toContain("Only view links can be embedded");
    expect(edit.headers.get("content-security-policy")).toBe("frame-ancestors 'none'");
    expect((await fetch(`${server.url}/embed/${await link("view", { revokedAt: new Date() })}`)).status).toBe(410);
    expect((await fetch(`${server.url}/embed/${newShareToken()}`)).status).toBe(404);
  });

  it("answers oEmbed with the player's iframe for a view link, escaped and sized within the asked bounds", async () => {
    const view = await link("view");
    const ask = (params: Record<string, string>) => fetch(`${server.url}/api/oembed?${new URLSearchParams(params)}`);
    const res = await ask({ url: `https://studio.example/s/${view}`, maxwidth: "300", maxheight: "400" });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const body = (await res.json()) as Record<string, unknown>;
    const origin = server.url;
    expect(body).toMatchObject({
      version: "1.0",
      type: "rich",
      provider_name: "PERSE Studio",
      title: 'Ada "the <b>" Lovelace (AI-generated avatar)',
      width: 300,
      height: 300,
    });
    expect(body.html).toBe(
      `<iframe src="${origin}/embed/${view}" width="300" height="300" style="border:0" allow="fullscreen" title="Ada &quot;the &lt;b&gt;&quot; Lovelace (AI-generated avatar)"></iframe>`,
    );
    // The embed address works as well as the share address; no bound gives the default size.
    const plain = (await (await ask({ url: `${origin}/embed/${view}` })).json()) as { width: number };
    expect(plain.width).toBe(480);
  });

  it("refuses oEmbed for edit links, dead links, other addresses and other formats, each with its status", async () => {
    const ask = async (params: Record<string, string>) => {
      const res = await fetch(`${server.url}/api/oembed?${new URLSearchParams(params)}`);
      return { status: res.status, message: ((await res.json()) as { error: { message: string } }).error.message };
    };
    expect(await ask({ url: `https://x/s/${await link("edit")}` })).toEqual({
      status: 403,
      message: "oEmbed: only view links can be embedded; this one can edit.",
    });
    expect((await ask({ url: `https://x/s/${newShareToken()}` })).status).toBe(404);
    expect((await ask({ url: `https://x/avatars/${avatarId}` })).status).toBe(404);
    expect((await ask({ url: "not a url" })).status).toBe(400);
    expect((await ask({})).status).toBe(400);
    expect((await ask({ url: `https://x/s/${await link("view")}`, format: "xml" })).status).toBe(501);
  });
});

describe("EMBED_FRAME_ANCESTORS", () => {
  it("defaults to any site, takes 'none' and origins, and names a bad entry", () => {
    expect(parseFrameAncestors(undefined)).toBe("*");
    expect(parseFrameAncestors("none")).toBe("'none'");
    expect(parseFrameAncestors("https://a.example, http://b.example:8080")).toBe(
      "https://a.example http://b.example:8080",
    );
    expect(() => parseFrameAncestors("https://a.example javascript:alert(1)")).toThrow(
      /EMBED_FRAME_ANCESTORS entry "javascript:alert\(1\)" is not/,
    );
    expect(() => parseFrameAncestors("https://a.example; script-src *")).toThrow(/EMBED_FRAME_ANCESTORS entry/);
  });
});
