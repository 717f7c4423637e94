import { existsSync } from 'node:fs';
import { download, downloadWeights, PRETRAINED_MODELS, type DownloadProgress } from '@convnets/hub';
import { IMAGENET_WNIDS } from '@convnets/imagenet-data';
import {
  torchHubHashPrefix,
  type ModelEntry,
  type PretrainedWeights,
  type WeightCategories,
} from '@convnets/layers';
import { fail, oneLine, progressBar } from './output';

/** The class names of each category set, in the weights' output order. */
const CATEGORY_NAMES: Readonly<Record<WeightCategories, readonly string[]>> = {
  imagenet1k: IMAGENET_WNIDS,
};

/** A `--weights` value as a file: a registry weights name or a URL, downloaded; else the path as given. */
export interface WeightsSource {
  /** The file or folder to load. */
  path: string;
  /** The registry's weights, for a weights name. */
  pretrained?: PretrainedWeights;
}

/** A weights name as torchvision spells them: `IMAGENET1K_V2`, `DEFAULT`. */
const WEIGHTS_NAME = /^[A-Z][A-Z0-9_]*$/;

/** A download's progress bar on stderr (a TTY only), started at the first report: a cached file shows none. */
function progress(label: string): { onProgress: (p: DownloadProgress) => void; stop: () => void } {
  let bar: ReturnType<typeof progressBar> | undefined;
  const mb = (n: number) => (n / 2 ** 20).toFixed(1);
  return {
    onProgress({ done, total }) {
      if (total === undefined) return;
      const size = { size: `${mb(done)}/${mb(total)} MB` };
      if (!bar) {
        bar = progressBar(`download ${label} |{bar}| {percentage}% {size}`);
        bar.start(total, done, size);
      } else bar.update(done, size);
    },
    stop: () => bar?.stop(),
  };
}

/** Runs a download with a progress bar; its error becomes the command's one-line error. */
async function downloading<T>(
  label: string,
  run: (onProgress: (p: DownloadProgress) => void) => Promise<T>,
): Promise<T> {
  const bar = progress(label);
  try {
    return await run(bar.onProgress);
  } catch (error) {
    fail(`--weights ${label}: ${oneLine((error as Error).message)}`);
  } finally {
    bar.stop();
  }
}

/**
 * Resolves `--weights`: an http(s) URL is downloaded into the cache (hash
 * checked when its file name carries torch.hub's `-<hex>.`), a weights name
 * of `entry` (`IMAGENET1K_V2`, `DEFAULT`) that is not an existing path is
 * downloaded from the registry (`$CONVNETS_WEIGHTS_MIRROR` honoured); a cached
 * file is used offline. Anything else is a path, returned as it is.
 */
export async function weightsSource(
  arch: string,
  entry: ModelEntry | undefined,
  value: string,
): Promise<WeightsSource> {
  if (/^https?:\/\//i.test(value)) {
    const sha256 = torchHubHashPrefix(value);
    const path = await downloading(value, (onProgress) => download(value, { sha256, onProgress }));
    return { path };
  }
  if (!WEIGHTS_NAME.test(value) || existsSync(value)) return { path: value };
  if (!entry || Object.keys(entry.weights).length === 0)
    fail(
      `--weights ${value}: --arch ${arch} has no pretrained weights; architectures with weights: ${PRETRAINED_MODELS.join(', ')}`,
    );
  const { path, weights } = await downloading(value, (onProgress) =>
    downloadWeights(entry, value, { onProgress }),
  );
  return { path, pretrained: weights };
}

/** The class names of pretrained weights' outputs. */
export function categoryNames(weights: PretrainedWeights): readonly string[] {
  return CATEGORY_NAMES[weights.categories];
}

/** The shorter side to resize to before cropping `size` pixels, as the weights were evaluated (scaled for another size). */
export function evalResize(weights: PretrainedWeights, size: number): number {
  const { resizeSize, cropSize } = weights.transforms;
  return Math.round((resizeSize * size) / cropSize);
}
