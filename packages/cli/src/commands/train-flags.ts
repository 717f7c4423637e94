import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { existingRun, type ScheduleSpec } from '@convnets/trainer';
import { fail } from '../output';
import type { TrainFlags } from './train';

/** Flags as a config file or a run's `run.json` may hold them: milestones may be a list there. */
type FileFlags = Omit<Partial<TrainFlags>, 'milestones'> & { milestones?: string | number[] };

/** The flags a run goes by: `--resume`'s run.json, then `--config`, then the command line; the folders are known. */
export type RunFlags = FileFlags & { arch: string; data: string; out: string };

/** A JSON or YAML file of flags, its keys in kebab-case (as the flags) or camelCase. */
function readConfig(path: string): FileFlags {
  if (!existsSync(path)) fail(`config file ${path} does not exist`);
  const text = readFileSync(path, 'utf8');
  try {
    const parsed: unknown = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      fail('expected a mapping of flag names to values');
    return Object.fromEntries(
      Object.entries(parsed).map(([k, v]) => [
        k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()),
        v,
      ]),
    ) as FileFlags;
  } catch (error) {
    fail(`config file ${path} cannot be read: ${(error as Error).message.split('\n')[0]}`);
  }
}

/** The flags a run in `dir` was started with (its run.json's `config`). */
function runFlags(dir: string): FileFlags {
  const runJson = join(dir, 'run.json');
  if (!existsSync(runJson)) fail(`--resume ${dir}: not a run folder (no run.json)`);
  let run: { config?: FileFlags };
  try {
    run = JSON.parse(readFileSync(runJson, 'utf8')) as { config?: FileFlags };
  } catch (error) {
    fail(`--resume ${dir}: ${runJson} is not valid JSON (${(error as Error).message})`);
  }
  return { ...(run.config ?? {}) };
}

/**
 * Merges `--resume`'s flags, `--config`'s and the command line's (later wins),
 * checks that --arch, --data and --out are known, and refuses an --out that
 * already holds a run unless resuming or overwriting it.
 */
export function resolveFlags(cli: TrainFlags): RunFlags {
  let flags: FileFlags = cli.resume ? runFlags(cli.resume) : {};
  if (cli.config) flags = { ...flags, ...readConfig(cli.config) };
  flags = {
    ...flags,
    ...Object.fromEntries(Object.entries(cli).filter(([, v]) => v !== undefined)),
  };
  if (cli.resume) flags.out = cli.resume;
  if (!flags.arch) fail('train needs --arch (e.g. --arch cifar-resnet20)');
  if (!flags.data) fail('train needs --data <image folder>');
  if (!flags.out) fail('train needs --out <run folder> (or --resume <run folder>)');
  const found = cli.resume || cli.overwrite ? [] : existingRun(flags.out);
  if (found.length > 0)
    fail(
      `--out ${flags.out} already holds a run (${found.join(', ')}); nothing was changed. Continue it with --resume ${flags.out}, choose another --out, or pass --overwrite to replace it`,
    );
  return flags as RunFlags;
}

/** The learning-rate schedule of `--schedule` and its flags. */
export function schedule(flags: FileFlags): ScheduleSpec {
  const kind = flags.schedule ?? 'constant';
  const milestones =
    typeof flags.milestones === 'string'
      ? flags.milestones.split(',').map((m) => Number(m.trim()))
      : flags.milestones;
  switch (kind) {
    case 'constant':
    case 'cosine':
      return { kind };
    case 'step':
      if (flags.every === undefined)
        fail(
          '--schedule step needs --every, e.g. --every 30 (epochs; iterations with --milestone-unit iteration)',
        );
      return { kind, every: flags.every, gamma: flags.gamma, unit: flags.milestoneUnit };
    case 'multistep':
      if (!milestones)
        fail(
          '--schedule multistep needs --milestones, e.g. --milestones 32000,48000 --milestone-unit iteration',
        );
      return { kind, milestones, gamma: flags.gamma, unit: flags.milestoneUnit };
    case 'plateau':
      return { kind, patience: flags.patience, factor: flags.gamma };
    default:
      fail(
        `--schedule must be one of constant, step, multistep, plateau, cosine; received "${String(kind)}"`,
      );
  }
}
