import { Option, type Command } from '@commander-js/extra-typings';
import { createHash } from 'node:crypto';
import { constants, createReadStream, existsSync, statSync } from 'node:fs';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import {
  CIFAR_ARCHIVES,
  readCifarArchive,
  writeImageFolder,
  type CifarArchive,
  type CifarLayout,
  type CifarName,
} from '@convnets/imagenet-data';
import type { DownloadProgress } from '@convnets/hub';
import { archiveSource, cachedArchive, dataMirror, fetchArchive } from '../fetch';
import { fail, note, oneLine, progressBar } from '../output';

const TITLE: Record<CifarName, string> = { cifar10: 'CIFAR-10', cifar100: 'CIFAR-100' };

/** The MD5 of a file, as hex. */
async function md5Of(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A download's progress on stderr: a note naming the URL and the cache, then a bar (a TTY only). */
function downloadProgress(layout: CifarLayout, url: string, path: string) {
  let bar: ReturnType<typeof progressBar> | undefined;
  let told = false;
  const mb = (n: number) => (n / 2 ** 20).toFixed(1);
  return {
    onProgress({ done, total }: DownloadProgress) {
      if (!told)
        note(`downloading ${url}${total === undefined ? '' : ` (${mb(total)} MB)`} to ${path}`);
      told = true;
      if (total === undefined) return;
      const size = { size: `${mb(done)}/${mb(total)} MB` };
      if (!bar) {
        bar = progressBar(`download ${layout.file} |{bar}| {percentage}% {size}`);
        bar.start(total, done, size);
      } else bar.update(done, size);
    },
    stop: () => bar?.stop(),
  };
}

/**
 * The archive torchvision uses: `dir`'s copy when it holds one that checks
 * out, else the cached download (`$CONVNETS_HOME/data/<file>`), downloaded
 * first (from `$CONVNETS_DATA_MIRROR` when set) with its MD5 checked.
 */
async function officialArchive(layout: CifarLayout, dir: string): Promise<string> {
  const inDir = join(dir, layout.file);
  if (existsSync(inDir)) {
    const md5 = await md5Of(inDir);
    if (md5 !== layout.md5)
      fail(
        `${inDir} exists but is not the published archive (MD5 ${md5}, expected ${layout.md5}); delete it to download it again`,
      );
    return inDir;
  }
  const mirror = dataMirror();
  const cached = cachedArchive(layout);
  if (existsSync(cached)) {
    note(`using ${cached}, downloaded before`);
    return cached;
  }
  const progress = downloadProgress(layout, archiveSource(layout, mirror), cached);
  try {
    return await fetchArchive(layout, {
      ...(mirror === undefined ? {} : { mirror }),
      onProgress: progress.onProgress,
    });
  } catch (error) {
    fail(oneLine((error as Error).message));
  } finally {
    progress.stop();
  }
}

/** Refuses `archive` unless its MD5 is the published one of one of the dataset's archives. */
async function checkPublished(archive: string, layouts: readonly CifarLayout[]): Promise<void> {
  const md5 = await md5Of(archive);
  if (layouts.some((l) => l.md5 === md5)) return;
  const published = layouts.map((l) => `${l.file}'s is ${l.md5}`).join(', ');
  fail(
    `--archive ${archive} is not a published archive (its MD5 is ${md5}; ${published}); pass --no-verify to read it all the same (its structure is checked)`,
  );
}

/** Copies `archive` into `dir` under its official name, through a temporary file; returns its path there. */
async function keepArchive(archive: string, read: CifarArchive, dir: string): Promise<string> {
  const layout = CIFAR_ARCHIVES.find((l) => l.name === read.name && l.format === read.format)!;
  const dest = join(dir, layout.file);
  if (resolve(dest) === resolve(archive)) return dest;
  if (existsSync(dest)) fail(`${dest} exists already; remove it or choose another folder`);
  await mkdir(dir, { recursive: true });
  const partial = join(dir, `.${layout.file}.partial`);
  try {
    await copyFile(archive, partial, constants.COPYFILE_FICLONE);
    await rename(partial, dest);
  } finally {
    await rm(partial, { force: true });
  }
  return dest;
}

/** Writes the archive's splits as `dir/train/<class>/…png` and `dir/test/…`, with a progress bar. */
async function writeFolder(read: CifarArchive, dir: string): Promise<void> {
  const bar = progressBar('write |{bar}| {value}/{total} images', true);
  const total = read.train!.count + read.test!.count;
  bar.start(total, 0);
  try {
    await writeImageFolder(
      dir,
      { train: read.train!, test: read.test! },
      { onProgress: (done) => bar.update(done) },
    );
  } finally {
    bar.stop();
  }
  console.log(
    `wrote ${read.train!.count} training images to ${join(dir, 'train')} and ${read.test!.count} test images to ${join(dir, 'test')} (${read.classes.length} classes); train with --data ${join(dir, 'train')}`,
  );
}

/** `convnets data cifar10|cifar100 DIR`: the archive (downloaded, or --archive), checked, kept in DIR or written as an image folder. */
async function runCifar(
  name: CifarName,
  dir: string,
  o: { archive?: string; format?: 'archive' | 'folder'; verify: boolean },
): Promise<void> {
  const layouts = CIFAR_ARCHIVES.filter((l) => l.name === name);
  let archive: string;
  if (o.archive !== undefined) {
    if (!existsSync(o.archive) || !statSync(o.archive).isFile())
      fail(`--archive ${o.archive} is not a file`);
    if (o.verify) await checkPublished(o.archive, layouts);
    archive = o.archive;
  } else {
    archive = await officialArchive(
      layouts.find((l) => l.format === 'python')!,
      dir,
    );
  }
  const read = await readCifarArchive(archive);
  if (read.name !== name)
    fail(`${archive} holds ${TITLE[read.name]}; \`convnets data ${name}\` takes ${TITLE[name]}`);
  if (o.format === 'folder') return writeFolder(read, dir);
  const kept = await keepArchive(archive, read, dir);
  console.log(
    `${kept}: ${TITLE[name]} (${read.format} version), ${read.train!.count} training and ${read.test!.count} test images, ${read.classes.length} classes; train with --data ${kept} (or --data ${dir})`,
  );
}

/**
 * `--data` or `--val` as a CIFAR archive: the path itself when it is a file,
 * or the official archive a folder holds when the folder has no `train/`;
 * `undefined` for an image folder.
 */
export function cifarArchiveAt(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  if (statSync(path).isFile()) return path;
  if (existsSync(join(path, 'train'))) return undefined;
  const held = CIFAR_ARCHIVES.map((l) => join(path, l.file)).filter((f) => existsSync(f));
  if (held.length > 1)
    fail(`${path} holds ${held.map((f) => basename(f)).join(' and ')}; pass the one to use`);
  return held[0];
}

/** Registers `convnets data cifar10` and `convnets data cifar100` under `data`. */
export function cifarCommands(data: Command): void {
  for (const name of ['cifar10', 'cifar100'] as const) {
    const [python, binary] = ['python', 'binary'].map((f) =>
      CIFAR_ARCHIVES.find((l) => l.name === name && l.format === f)!,
    );
    data
      .command(name)
      .description(
        `get ${TITLE[name]}: download ${python.file} from ${python.url.replace(basename(python.url), '')} as torchvision does (MD5 checked; cached in $CONVNETS_HOME/data; $CONVNETS_DATA_MIRROR replaces the URL's origin), or take --archive, and keep it in <dir> for train --data, or write it as an image folder`,
      )
      .argument('<dir>', 'output folder')
      .option(
        '--archive <file>',
        `an archive already downloaded: ${python.file} or ${binary.file} (its MD5 and structure checked; not downloaded)`,
      )
      .option(
        '--no-verify',
        'with --archive: read an archive whose MD5 is not the published one (a repacked or trimmed copy); its structure is checked all the same',
      )
      .addOption(
        new Option(
          '--format <kind>',
          'archive: keep the .tar.gz in <dir> (a copy of the download or of --archive), which train --data reads directly (default); folder: write <dir>/train/<class>/NNNNN.png and <dir>/test/… instead',
        ).choices(['archive', 'folder'] as const),
      )
      .action((dir, o) => runCifar(name, dir, o));
  }
}
