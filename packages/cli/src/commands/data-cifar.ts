import { Option, type Command } from '@commander-js/extra-typings';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
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
import { fetchToFile } from '../fetch';
import { fail, progressBar, warn } from '../output';

const TITLE: Record<CifarName, string> = { cifar10: 'CIFAR-10', cifar100: 'CIFAR-100' };

/** The MD5 of a file, as hex. */
async function md5Of(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Downloads the archive torchvision uses into `dir` (unless it is there and checks out), with a progress bar. */
async function download(layout: CifarLayout, dir: string): Promise<string> {
  const dest = join(dir, layout.file);
  if (existsSync(dest)) {
    const md5 = await md5Of(dest);
    if (md5 !== layout.md5)
      fail(
        `${dest} exists but is not the published archive (MD5 ${md5}, expected ${layout.md5}); delete it to download it again`,
      );
    return dest;
  }
  const bar = progressBar(`${layout.file} |{bar}| {percentage}% | {value}/{total} MB`);
  let started = false;
  try {
    await fetchToFile(layout.url, dest, {
      md5: layout.md5,
      onProgress: (done, total) => {
        if (!started) bar.start(Math.round((total ?? 0) / 1e6), 0);
        started = true;
        bar.update(Math.round(done / 1e6));
      },
    });
  } finally {
    bar.stop();
  }
  return dest;
}

/** Warns unless `archive`'s MD5 is the published one of one of the dataset's archives (its structure is checked all the same). */
async function checkPublished(archive: string, layouts: readonly CifarLayout[]): Promise<void> {
  const md5 = await md5Of(archive);
  if (layouts.some((l) => l.md5 === md5)) return;
  const published = layouts.map((l) => `${l.file}'s is ${l.md5}`).join(', ');
  warn(
    `${archive} is not a published archive (its MD5 is ${md5}; ${published}); reading it all the same (every member is checked)`,
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
    await copyFile(archive, partial);
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
  o: { archive?: string; format?: 'archive' | 'folder' },
): Promise<void> {
  const layouts = CIFAR_ARCHIVES.filter((l) => l.name === name);
  let archive: string;
  if (o.archive !== undefined) {
    if (!existsSync(o.archive) || !statSync(o.archive).isFile())
      fail(`--archive ${o.archive} is not a file`);
    await checkPublished(o.archive, layouts);
    archive = o.archive;
  } else {
    archive = await download(
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
        `get ${TITLE[name]}: download ${python.file} from ${python.url.replace(basename(python.url), '')} (as torchvision does; MD5 checked), or take --archive, and keep it in <dir> for train --data, or write it as an image folder`,
      )
      .argument('<dir>', 'output folder')
      .option(
        '--archive <file>',
        `an archive already downloaded: ${python.file} or ${binary.file} (checked, not downloaded)`,
      )
      .addOption(
        new Option(
          '--format <kind>',
          'archive: keep the .tar.gz in <dir>, which train --data reads directly (default); folder: also write <dir>/train/<class>/NNNNN.png and <dir>/test/…',
        ).choices(['archive', 'folder'] as const),
      )
      .action((dir, o) => runCifar(name, dir, o));
  }
}
