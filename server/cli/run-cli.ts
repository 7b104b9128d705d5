/**
 * The shared shell of the project's command-line tools: a mistake in the
 * command line or its files is a UsageError, reported in one line with the
 * usage and exit code 2; a bad input file gets its reader's one-line reason
 * (exit 1); anything else is our bug and keeps its stack.
 */
import path from "node:path";
import { parseArgs } from "node:util";

export class UsageError extends Error {}

/** Whether `moduleUrl` (import.meta.url) is the script node was started with. */
export function isMainModule(moduleUrl: string): boolean {
  return !!process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(moduleUrl).pathname);
}

export function runCli(
  name: string,
  usage: string,
  main: (argv: string[]) => Promise<void>,
  isInputError: (err: Error) => boolean = () => false,
): void {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: Error) => {
      if (err instanceof UsageError) {
        console.error(`${name}: ${err.message}\n${usage}`);
        process.exit(2);
      }
      console.error(isInputError(err) ? `${name}: ${err.message}` : (err.stack ?? String(err)));
      process.exit(1);
    },
  );
}

/** An optional whole-number option: `fallback` when absent, a UsageError when not a whole number in [min, max]. */
export function intOption(value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be a whole number in [${min}, ${max}], got "${value}"`);
  return n;
}

/** `--name VALUE` options (and bare `--flag`s for `booleans`); an unknown option or a stray argument is a UsageError. */
export function parseFlags(argv: string[], flags: readonly string[]): Record<string, string | undefined>;
export function parseFlags(
  argv: string[],
  flags: readonly string[],
  booleans: readonly string[],
): Record<string, string | boolean | undefined>;
export function parseFlags(
  argv: string[],
  flags: readonly string[],
  booleans: readonly string[] = [],
): Record<string, string | boolean | undefined> {
  const options = Object.fromEntries(
    flags.map((k) => [k, { type: booleans.includes(k) ? ("boolean" as const) : ("string" as const) }]),
  );
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: false });
  const unknown = Object.keys(values).find((k) => !flags.includes(k));
  if (unknown) throw new UsageError(`unknown option --${unknown}`);
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  return values as Record<string, string | boolean | undefined>;
}
