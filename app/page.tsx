import { AvatarList } from "./components/AvatarList";

export default function HomePage() {
  return (
    <main>
      <h1>Your avatars</h1>
      <AvatarList />
    </main>
  );
}
