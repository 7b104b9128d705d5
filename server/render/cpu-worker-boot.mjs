// Worker entry in plain JavaScript: registers tsx's TypeScript loader, then
// loads the worker, whatever loader the parent process was started with.
import { register } from "tsx/esm/api";

register();
await import("./cpu-worker.ts");
