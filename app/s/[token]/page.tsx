import { SharedAvatar } from "../../components/SharedAvatar";

/** Landing page of a share link; the server has already refused unknown, expired and revoked tokens. */
export default async function SharePage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  return <SharedAvatar token={token} />;
}
