/**
 * The iframe that embeds a view link's player (/embed/<token>) in another
 * site's page: one writer for the share dialog's snippet and the server's
 * oEmbed answer, so both give the same markup.
 */

/** Side of the embedded player, CSS pixels: the default and the bounds an oEmbed consumer may ask within. */
export const EMBED_SIZE = { default: 480, min: 128, max: 1024 } as const;

/** The player's address for a share token. */
export function embedUrl(origin: string, token: string): string {
  return `${origin}/embed/${encodeURIComponent(token)}`;
}

/** The iframe markup for the player at `src`, square. */
export function embedIframe(src: string, title: string, side: number = EMBED_SIZE.default): string {
  return `<iframe src="${escapeAttribute(src)}" width="${side}" height="${side}" style="border:0" allow="fullscreen" title="${escapeAttribute(title)}"></iframe>`;
}

function escapeAttribute(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
