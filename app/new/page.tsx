import { NewAvatar } from "../components/NewAvatar";

export const metadata = { title: "New avatar · PERSE Studio" };

export default function NewAvatarPage() {
  return (
    <main>
      <h1>New avatar</h1>
      <p className="muted">
        One portrait photo becomes an editable 3D head: the server finds the face, fits a head to it, makes training
        videos and trains the avatar.
      </p>
      <NewAvatar />
    </main>
  );
}
