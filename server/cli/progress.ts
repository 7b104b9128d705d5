/**
 * The CLIs' progress bar on stderr: redrawn in place on a terminal, a line
 * every few seconds when piped to a log.
 */
export function formatEta(seconds: number): string {
  return seconds > 90 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds)} s`;
}

export function progressBar(
  stream: NodeJS.WriteStream = process.stderr,
  everyMs = 5000,
): { update(done: number, total: number, text: string): void; end(): void } {
  const tty = stream.isTTY;
  let last = 0,
    drawn = false;
  return {
    update(done, total, text) {
      const now = Date.now();
      if (!tty && now - last < everyMs && done !== total) return;
      last = now;
      const width = 30,
        filled = Math.round((width * done) / Math.max(1, total));
      const line = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${text}`;
      stream.write(tty ? `\r${line}\u001b[K` : `${line}\n`);
      drawn = true;
    },
    end() {
      if (tty && drawn) stream.write("\n");
    },
  };
}
