import { ViewerPage } from "../components/ViewerPage";

export const metadata = { title: "Splat viewer · PERSE Studio" };

export default function Page() {
  return <ViewerPage />;
}
