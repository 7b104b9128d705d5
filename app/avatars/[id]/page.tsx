import { AvatarRoom } from "../../components/AvatarRoom";

export default async function AvatarPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <AvatarRoom avatarId={id} shareToken={null} />;
}
