"use client";
/**
 * Downloads of the avatar as it looks now (everyone's sliders, the
 * expression and pose of the shared state) as standard splat files, for other
 * viewers and engines. The server makes each file on request
 * (server/export/export.ts); a link holds the share token because a download
 * cannot send the share-token header.
 */
const FORMATS = [
  { format: "glb", label: "glTF .glb", hint: "KHR_gaussian_splatting: engines and glTF viewers" },
  { format: "ply", label: "3DGS .ply", hint: "the INRIA layout most splat tools read" },
  { format: "splat", label: ".splat", hint: "compact, 32 bytes a Gaussian, colour without view dependence" },
] as const;

export function ExportMenu({ avatarId, shareToken }: { avatarId: string; shareToken: string | null }) {
  const query = shareToken ? `?token=${encodeURIComponent(shareToken)}` : "";
  return (
    <details className="export-menu" data-testid="export-menu">
      <summary>Export</summary>
      <div className="export-list">
        <p className="muted" style={{ margin: 0, fontSize: ".8rem" }}>
          The avatar as it looks now, posed.
        </p>
        {FORMATS.map(({ format, label, hint }) => (
          <a
            key={format}
            href={`/api/avatars/${encodeURIComponent(avatarId)}/export.${format}${query}`}
            download
            data-testid={`export-${format}`}
            title={hint}
          >
            {label}
          </a>
        ))}
      </div>
    </details>
  );
}
