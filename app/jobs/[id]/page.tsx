import { JobProgress } from "../../components/JobProgress";

export const metadata = { title: "Creating an avatar · PERSE Studio" };

export default async function JobPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <JobProgress jobId={id} />;
}
