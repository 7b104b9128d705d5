import type { Metadata } from "next";
import { EmbedPlayer } from "../../components/EmbedPlayer";

export const metadata: Metadata = { title: "AI-generated avatar · PERSE Studio" };

/** The embeddable player of a view link (server/http/app-server.ts has already refused other links). */
export default async function EmbedPage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  return <EmbedPlayer token={token} />;
}
