import cliProgress from 'cli-progress';

/** Ends the command with a one-line error: `main` prints `convnets: <message>` and exits 1. */
export function fail(message: string): never {
  throw new Error(message);
}

/** A one-line warning on stderr; the command goes on. */
export function warn(message: string): void {
  process.stderr.write(`convnets: warning: ${message}\n`);
}

/** A one-line note on stderr; the command goes on. */
export function note(message: string): void {
  process.stderr.write(`convnets: note: ${message}\n`);
}

/** A multi-line error (e.g. the weight loader's list of problems) as one line. */
export function oneLine(message: string): string {
  const [head, ...rest] = message.split('\n').map((l) => l.trim().replace(/^- /, ''));
  const items = rest.filter(Boolean);
  if (items.length === 0) return head;
  const shown = items.slice(0, 3).join('; ');
  return `${head.replace(/:$/, '')}: ${shown}${items.length > 3 ? `; and ${items.length - 3} more` : ''}`;
}

/** A progress bar on stderr in the CLI's style; `format` names its fields (`{bar}`, `{value}`, …). */
export function progressBar(format: string, hideCursor?: boolean): cliProgress.SingleBar {
  return new cliProgress.SingleBar({ format, hideCursor }, cliProgress.Presets.shades_classic);
}
