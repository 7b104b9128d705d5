/** What the job runner tells its listeners and callers, and why it stops a running stage. */

/** What the socket layer listens to. "change" with status: true is a status change. */
export type JobEvent =
  | { type: "change"; jobId: string; status: boolean }
  | { type: "log"; jobId: string; lines: string[] }
  | { type: "closed" };

/** A request the job's state does not allow, or an unknown job; `code` maps to the API's error. */
export class JobError extends Error {
  constructor(
    readonly code: "not-found" | "conflict",
    message: string,
  ) {
    super(message);
  }
}

/** Why a running stage's signal was aborted. */
export class Stop extends Error {
  constructor(readonly why: "cancel" | "close" | "gone") {
    super(
      why === "cancel"
        ? "The job was cancelled."
        : why === "close"
          ? "The server is shutting down."
          : "The job's row is gone.",
    );
  }
}
