import type { StageDef } from "../pipeline/create/stage";

/**
 * The creation pipeline a server or worker runs (tests pass their own),
 * loaded on demand: a pipeline that cannot load
 * must not keep the studio from starting, so its jobs fail with the reason instead.
 */
export async function defaultStages(log: (line: string) => void): Promise<readonly StageDef[]> {
  try {
    const { creationStages } = await import("../pipeline/create/stages");
    const { onWorkerThread } = await import("../pipeline/create/stage-thread");
    // Off the server's thread: a training iteration must not stall the editing sessions.
    return creationStages().map(onWorkerThread);
  } catch (err) {
    const reason = (err as Error).message.split("\n")[0];
    log(`jobs: the creation pipeline could not be loaded: ${(err as Error).stack ?? reason}`);
    return [
      {
        name: "unavailable",
        label: "Load the creation pipeline",
        weight: 1,
        run: () => Promise.reject(new Error(`This server could not load the creation pipeline (${reason}).`)),
      },
    ];
  }
}
