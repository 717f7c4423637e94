import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The functions of the JPEG addon (see `native/jpeg.c`). */
export interface JpegAddon {
  /**
   * Renders one view of a JPEG into `output`. Resolves with 0 when written,
   * 1 when the JPEG is not one this path decodes (CMYK, YCCK); rejects with
   * the decoder's message for a damaged file.
   */
  renderJpeg(input: Uint8Array, output: Uint8Array, params: number[]): Promise<number>;
  /** `out[offset + i] = pixels[i] · a[i mod 3] + b[i mod 3]` as float32; `ab` is `[a0, a1, a2, b0, b1, b2]`. */
  normalize(out: Float32Array, offset: number, pixels: Uint8Array, ab: number[]): void;
  /** The whole file in one thread-pool job, or `null` when anything is off (Node's fs then reports it). */
  readFile(path: string, maxBytes: number): Promise<Buffer | null>;
  info(): { libjpegTurbo: string };
}

/** Whether the JPEG addon loaded, and from where or why not. */
export interface JpegAddonStatus {
  /** The libjpeg-turbo version inside the addon, when it loaded. */
  readonly libjpegTurbo?: string;
  /** The file that loaded. */
  readonly path?: string;
  /** One line per candidate file that did not load. */
  readonly errors: readonly string[];
}

const fileName = 'convnets_jpeg.node';
let loaded: { addon?: JpegAddon; status: JpegAddonStatus } | undefined;

/** Loads the addon once; never throws. */
export function loadAddon(): { addon?: JpegAddon; status: JpegAddonStatus } {
  if (loaded) return loaded;
  if (process.env.CONVNETS_JPEG_ADDON === 'off') {
    loaded = { status: { errors: ['turned off by CONVNETS_JPEG_ADDON=off'] } };
    return loaded;
  }
  const errors: string[] = [];
  let root: string;
  let require: NodeJS.Require;
  try {
    // `src/` and `dist/` both sit one level below the package root. A bundler
    // that leaves no `import.meta.url` (CJS without a shim) lands in catch.
    root = fileURLToPath(new URL('..', import.meta.url));
    require = createRequire(import.meta.url);
  } catch (error) {
    loaded = { status: { errors: [`cannot locate the package: ${(error as Error).message}`] } };
    return loaded;
  }
  const candidates = [
    process.env.CONVNETS_JPEG_ADDON,
    `${root}prebuilds/${process.platform}-${process.arch}/${fileName}`,
  ].filter((p): p is string => typeof p === 'string' && p.length > 0);
  for (const path of candidates) {
    if (!existsSync(path)) {
      errors.push(`${path}: not found`);
      continue;
    }
    try {
      const addon = require(path) as JpegAddon;
      const { libjpegTurbo } = addon.info();
      loaded = { addon, status: { libjpegTurbo, path, errors } };
      return loaded;
    } catch (error) {
      errors.push(`${path}: ${(error as Error).message}`);
    }
  }
  loaded = { status: { errors } };
  return loaded;
}

/**
 * Whether the JPEG fast path is available in this process: the prebuilt
 * addon (libjpeg-turbo 2.1.5 linked in, shipped for linux-x64) loaded, or
 * where it was looked for. Without it every image is decoded by sharp.
 *
 * @returns The libjpeg-turbo version and the addon's path, or the reasons
 *   each candidate file did not load.
 * @throws Nothing.
 */
export function jpegFastPath(): JpegAddonStatus {
  return loadAddon().status;
}
