"use client";
/** In the editor of an avatar that is still being created (or failed to be): where to follow its job. Owner only. */
import { useEffect, useState } from "react";
import type { Api } from "../lib/trpc";
import type { JobView } from "../lib/jobs";

export function JobProgressBanner({ api, avatarId }: { api: Api; avatarId: string }) {
  const [job, setJob] = useState<JobView | null>(null);

  useEffect(() => {
    let live = true;
    api.jobs.list.query().then(
      (jobs) => {
        const mine = jobs.filter((j) => j.avatarId === avatarId && j.status !== "done" && j.status !== "cancelled");
        mine.sort((a, b) => new Date(b.createdAt).getTime() - new Date(a.createdAt).getTime());
        if (live) setJob(mine[0] ?? null);
      },
      // No jobs API or no access: nothing to point at.
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [api, avatarId]);

  if (!job) return null;
  return (
    <div className="banner" data-testid="creating-banner">
      {job.status === "failed"
        ? "Creating this avatar failed: "
        : `This avatar is still being created (${Math.floor(job.progress * 100)}%); what you see is a placeholder. `}
      <a href={`/jobs/${encodeURIComponent(job.id)}`} data-testid="creating-job-link">
        {job.status === "failed" ? "see why and retry" : "follow its progress"}
      </a>
    </div>
  );
}
