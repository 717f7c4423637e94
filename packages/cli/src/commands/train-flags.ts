import { Option, type Command, type OptionValues } from '@commander-js/extra-typings';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { existingRun, type ScheduleSpec } from '@convnets/trainer';
import { backendOption, channelPaddingOption, int, num } from '../options';
import { fail } from '../output';

/** The flags of the data and the model: --arch, --data, --val, the run's length and batch. */
function dataFlags<Args extends unknown[], Opts extends OptionValues>(cmd: Command<Args, Opts>) {
  return cmd
    .option(
      '--arch <name>',
      'architecture, a registry name (resnet18…152, wide_resnet50_2, plain18…152, vgg11…vgg19[_bn], vgg11_lrn, vgg16_c, cifar_resnetN, cifar_plainN) or an older spelling (cifar-resnet20, vgg16-bn)',
    )
    .addOption(channelPaddingOption())
    .option(
      '--data <dir>',
      'training images (root/<class>/…), a folder holding train/ and val/, or a CIFAR archive (its training images; a .tar.gz from `convnets data cifar10`, or the folder holding it)',
    )
    .option(
      '--val <dir>',
      'validation images (default: <data>/val when it exists); a CIFAR archive gives its test images',
    )
    .option(
      '--holdout <n>',
      "validate on the last n images of each class of --data instead (sorted by file name), training on the rest: the ResNet paper's 45k/5k CIFAR-10 split is --holdout 500",
      int('holdout'),
    )
    .option('--epochs <n>', 'epochs (default 1)', int('epochs'))
    .option('--steps <n>', 'stop after this many updates instead', int('steps'))
    .option(
      '--batch-size <n>',
      'images per (micro-)batch (default 128 CIFAR, 256 ImageNet)',
      int('batch-size'),
    )
    .option(
      '--accumulate <n>',
      'micro-batches per update (effective batch = batch size × this)',
      int('accumulate'),
    );
}

/** The flags of the recipe: learning rate, schedule, SGD, weight decay, seed. */
function recipeFlags<Args extends unknown[], Opts extends OptionValues>(cmd: Command<Args, Opts>) {
  return cmd
    .option('--lr <rate>', 'base learning rate (default 0.1; VGG 0.01)', num('lr'))
    .addOption(
      new Option('--schedule <kind>', 'learning-rate schedule').choices([
        'constant',
        'step',
        'multistep',
        'plateau',
        'cosine',
      ] as const),
    )
    .option('--milestones <list>', 'multistep milestones, comma-separated (e.g. 32000,48000)')
    .addOption(
      new Option('--milestone-unit <unit>', 'milestones count epochs or iterations').choices([
        'epoch',
        'iteration',
      ] as const),
    )
    .option('--every <n>', 'step schedule: interval', int('every'))
    .option('--gamma <factor>', 'schedule factor (default 0.1)', num('gamma'))
    .option('--patience <epochs>', 'plateau schedule: epochs without improvement', int('patience'))
    .option('--warmup-epochs <n>', 'linear warm-up length', num('warmup-epochs'))
    .option('--momentum <m>', 'momentum (default 0.9)', num('momentum'))
    .addOption(
      new Option(
        '--momentum-rule <rule>',
        'momentum rule (default pytorch; caffe as in the original ResNet code)',
      ).choices(['pytorch', 'caffe'] as const),
    )
    .option('--nesterov', 'Nesterov momentum')
    .option('--weight-decay <l2>', 'weight decay (default 1e-4; VGG 5e-4)', num('weight-decay'))
    .option(
      '--pixel-mean',
      "CIFAR nets: x / 255 minus the training images' per-pixel mean image (ResNet §4.2) instead of the per-channel mean and std; the mean is stored in every checkpoint",
    )
    .option('--exclude-bn', 'no weight decay on BN parameters')
    .option('--exclude-bias', 'no weight decay on biases')
    .option(
      '--seed <n>',
      'seed of the initial weights, shuffling, augmentation and dropout (default 0)',
      int('seed'),
    );
}

/** The flags of the run folder, the backend, checkpoints, --config and the chart. */
function runFolderFlags<Args extends unknown[], Opts extends OptionValues>(
  cmd: Command<Args, Opts>,
) {
  return cmd
    .option('--out <dir>', 'run folder (metrics.jsonl, metrics.csv, checkpoints/, curves.png)')
    .option(
      '--resume <dir>',
      'continue the run in this folder from its newest checkpoint (its flags are reused; flags given override)',
    )
    .option(
      '--overwrite',
      'start from scratch even if --out holds a run (its run.json, metrics, checkpoints and curves are deleted)',
    )
    .addOption(backendOption())
    .option('--image-size <px>', 'input size (default 32 CIFAR, 224 ImageNet)', int('image-size'))
    .option(
      '--checkpoint-every <steps>',
      'also checkpoint every this many updates',
      int('checkpoint-every'),
    )
    .option('--keep <n>', 'checkpoints kept besides the best (default 3)', int('keep'))
    .option(
      '--precise-bn <batches>',
      'recompute BN statistics over this many batches before validation',
      int('precise-bn'),
    )
    .option('--config <file>', 'JSON or YAML file of flags (flags given on the command line win)')
    .option('--no-plot', 'do not draw curves.png at the end');
}

/** Declares `convnets train` and its flags, in the order `--help` lists them (their types are inferred from here). */
export function declareTrain(program: Command) {
  const cmd = program
    .command('train')
    .description(
      'train a network on an image folder (root/<class>/<image>, or root/train and root/val) or a CIFAR archive',
    );
  return runFolderFlags(recipeFlags(dataFlags(cmd)));
}

/** The flags of `convnets train` as given on the command line. */
export type TrainFlags = ReturnType<ReturnType<typeof declareTrain>['opts']>;

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
  // Runs started before --every was required used 30 for a step schedule without it.
  if (flags.schedule === 'step' && flags.every === undefined) flags.every = 30;
  if (cli.config) flags = { ...flags, ...readConfig(cli.config) };
  flags = {
    ...flags,
    ...Object.fromEntries(Object.entries(cli).filter(([, v]) => v !== undefined)),
  };
  if (cli.resume) flags.out = cli.resume;
  if (!flags.arch) fail('train needs --arch (e.g. --arch cifar_resnet20)');
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
