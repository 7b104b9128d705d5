/**
 * Embedding a view link in another site's page: which sites may frame the
 * player (CSP frame-ancestors; every other page refuses all framing, so
 * nothing of the editor can be clickjacked) and the oEmbed answer that gives
 * a site the iframe for a link (oembed.com, version 1.0, type "rich").
 * Only view links are embeddable: an embed's address is visible to the page
 * around it, and an edit link there would let that page change the avatar.
 */
import type { Db } from "../db/client";
import { resolveToken } from "../auth/access";
import { EMBED_SIZE, embedIframe, embedUrl } from "../../protocol/embed";

/** Pages that are not the player: no framing at all. */
export const NO_FRAMING = { "content-security-policy": "frame-ancestors 'none'", "x-frame-options": "DENY" } as const;

/** The player's own headers: framed only by the allowed sites. */
export function embedFramingHeaders(frameAncestors: string): Record<string, string> {
  return { "content-security-policy": `frame-ancestors ${frameAncestors}` };
}

/** Where the oEmbed answer for a link is, for the discovery Link header of the pages that show one. */
export function oembedLinkHeader(origin: string, pageUrl: string): string {
  return `<${origin}/api/oembed?format=json&url=${encodeURIComponent(pageUrl)}>; rel="alternate"; type="application/json+oembed"`;
}

export type OembedResult =
  { status: 200; body: Record<string, unknown> } | { status: 400 | 403 | 404 | 501; message: string };

/**
 * The oEmbed answer for `url` (a share or embed address of this studio):
 * a rich type whose html is the player's iframe, square, within maxwidth and
 * maxheight. 404 for anything that is not a live link; 403 for an edit link.
 */
export async function oembedFor(db: Db, origin: string, query: URLSearchParams): Promise<OembedResult> {
  const format = query.get("format") ?? "json";
  if (format !== "json") return { status: 501, message: `oEmbed: only format=json is served, not "${format}".` };
  const target = query.get("url");
  if (!target) return { status: 400, message: "oEmbed: the url parameter is missing." };
  let path: string;
  try {
    path = new URL(target).pathname;
  } catch {
    return { status: 400, message: "oEmbed: url is not an address." };
  }
  const m = /^\/(?:s|embed)\/([^/]+)\/?$/.exec(path);
  let token: string;
  try {
    token = decodeURIComponent(m?.[1] ?? "");
  } catch {
    token = "";
  }
  if (!token) return { status: 404, message: "oEmbed: url is not a share link of this studio." };
  const access = await resolveToken(db, token);
  if (access.kind !== "link") return { status: 404, message: "oEmbed: no live share link at that address." };
  if (access.role !== "view")
    return { status: 403, message: "oEmbed: only view links can be embedded; this one can edit." };
  const avatar = await db.avatar.findUnique({ where: { id: access.avatarId }, select: { name: true } });
  if (!avatar) return { status: 404, message: "oEmbed: the avatar is gone." };
  const bound = (name: string) => {
    const v = Number(query.get(name));
    return Number.isFinite(v) && v > 0 ? v : Infinity;
  };
  const side = Math.max(
    EMBED_SIZE.min,
    Math.min(EMBED_SIZE.max, EMBED_SIZE.default, bound("maxwidth"), bound("maxheight")),
  );
  const title = `${avatar.name} (AI-generated avatar)`;
  return {
    status: 200,
    body: {
      version: "1.0",
      type: "rich",
      provider_name: "PERSE Studio",
      provider_url: origin,
      title,
      width: side,
      height: side,
      html: embedIframe(embedUrl(origin, token), title, side),
    },
  };
}
