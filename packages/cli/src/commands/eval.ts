import { Option, type Command } from '@commander-js/extra-typings';
import { IMAGENET_WNIDS, imageFolder, type ImageFolderDataset } from '@convnets/imagenet-data';
import { evaluate, folderEvaluationData, type EvaluationData } from '@convnets/trainer';
import { architecture, tenCropRefusal, type Architecture } from '../architectures';
import { loadModel, type LoadedModel } from '../model';
import {
  backendOption,
  channelPaddingOption,
  int,
  meanOption,
  preprocessOption,
  splitData,
  stdOption,
  torchvisionStats,
  useBackend,
} from '../options';
import { fail, progressBar } from '../output';
import { inline } from '../weights';

/** Declares `convnets eval` and its flags (their types are inferred from here). */
function declare(program: Command) {
  return program
    .command('eval')
    .description(
      'top-1/top-5 error of a checkpoint or a .safetensors state dict on an image folder',
    )
    .requiredOption('--arch <name>', 'architecture')
    .requiredOption(
      '--weights <path>',
      'checkpoint folder, run folder (its best checkpoint), .pth or .safetensors file (PyTorch state dict: torchvision, or CIFAR ResNet), weights name (IMAGENET1K_V2, DEFAULT: downloaded, with its eval resize and classes) or http(s) URL (downloaded once into $CONVNETS_HOME)',
    )
    .requiredOption('--data <dir>', 'images (root/<class>/…, or a folder holding val/)')
    .addOption(
      new Option(
        '--classes <kind>',
        "what --data's class folders are: folder (default: the weights' classes; a state dict's are the sorted folder names) or imagenet (ImageNet wnids such as n01440764, any subset of the 1000: labels are their ImageNet indices)",
      ).choices(['folder', 'imagenet'] as const),
    )
    .option('--ten-crop', '10-crop testing (ImageNet architectures)')
    .option('--batch-size <n>', 'images per batch (default 32)', int('batch-size'))
    .option('--image-size <px>', 'input size', int('image-size'))
    .addOption(channelPaddingOption())
    .addOption(preprocessOption())
    .addOption(meanOption())
    .addOption(stdOption())
    .addOption(backendOption().default('auto' as const))
    .option('--json', 'print one JSON document');
}

/** The flags of `convnets eval`. */
type EvalFlags = ReturnType<ReturnType<typeof declare>['opts']>;

/** Registers `convnets eval`. */
export function evalCommand(program: Command): void {
  declare(program).action(runEval);
}

/** `data`, reporting the images seen so far after each batch. */
function counting(data: EvaluationData, seen: (images: number) => void): EvaluationData {
  return {
    ...data,
    batches: async function* () {
      let images = 0;
      for await (const b of data.batches()) {
        images += b.labels.shape[0];
        seen(images);
        yield b;
      }
    },
  };
}

/** `--classes imagenet`: every class folder must be an ImageNet wnid. */
async function checkWnidFolders(dataDir: string): Promise<void> {
  const known = new Set(IMAGENET_WNIDS);
  const strangers = (await imageFolder(dataDir)).classes.filter((c) => !known.has(c));
  if (strangers.length > 0)
    fail(
      `--classes imagenet: ${inline(strangers.map((c) => JSON.stringify(c)))} in ${dataDir} ${strangers.length === 1 ? 'is not an ImageNet wnid' : 'are not ImageNet wnids'}; expected class folders named by ImageNet's 1000 wnids (${IMAGENET_WNIDS[0]} … ${IMAGENET_WNIDS.at(-1)})`,
    );
}

/**
 * Loads the weights and lists the data: a state dict's classes are the data
 * folder's (sorted, as torchvision's ImageFolder), or ImageNet's with
 * `--classes imagenet`, whose labels are then the folders' ImageNet indices.
 */
async function modelAndData(
  o: EvalFlags,
  a: Architecture,
  dataDir: string,
): Promise<{ loaded: LoadedModel; dataset: ImageFolderDataset }> {
  const imagenet = o.classes === 'imagenet';
  if (imagenet) await checkWnidFolders(dataDir);
  const loaded = await loadModel(a, o.weights, {
    imageSize: o.imageSize,
    preprocess: o.preprocess,
    classNames: async (count) => {
      if (imagenet) {
        if (count !== IMAGENET_WNIDS.length)
          fail(`--classes imagenet needs 1000 classes; weights ${o.weights} classify ${count}`);
        return IMAGENET_WNIDS;
      }
      const found = (await imageFolder(dataDir)).classes;
      if (found.length !== count)
        fail(
          `weights ${o.weights} classify ${count} classes but ${dataDir} has ${found.length} class folders`,
        );
      return found;
    },
  });
  const { classes } = loaded;
  if (imagenet && (classes.length !== 1000 || classes.some((c, i) => c !== IMAGENET_WNIDS[i])))
    fail(
      `--classes imagenet: the checkpoint's ${classes.length} classes are not ImageNet's 1000 wnids in order`,
    );
  return { loaded, dataset: await imageFolder(dataDir, { classes }) };
}

/** `convnets eval`: loads the weights, evaluates them on the folder, prints the errors. */
async function runEval(o: EvalFlags): Promise<void> {
  const a = architecture(o.arch, { channelPadding: o.channelPadding });
  const refusal = o.tenCrop ? tenCropRefusal(a) : undefined;
  if (refusal) fail(refusal);
  await useBackend(o.backend, false);
  const dataDir = splitData(o.data).val ?? o.data;
  const { loaded, dataset } = await modelAndData(o, a, dataDir);
  const { model, size, preprocessing, pixelMean, resize } = loaded;
  const transform = a.evalTransform(size, {
    tenCrops: o.tenCrop,
    preprocessing,
    pixelMean,
    resize,
    ...torchvisionStats(o, preprocessing),
  });
  const data = folderEvaluationData(dataset, { transform, batchSize: o.batchSize ?? 32 });
  const bar = o.json ? undefined : progressBar('eval |{bar}| {value}/{total} images');
  bar?.start(dataset.samples.length, 0);
  const result = await evaluate(
    model,
    counting(data, (images) => bar?.update(images)),
  );
  bar?.stop();
  const report = {
    arch: o.arch,
    weights: o.weights,
    data: o.data,
    crops: transform.views,
    preprocessing: pixelMean
      ? 'pixel-mean'
      : a.family === 'cifar' && preprocessing === 'paper'
        ? 'cifar'
        : preprocessing,
    ...result,
  };
  if (o.json) console.log(JSON.stringify(report));
  else
    console.log(
      `top-1 error ${result.top1Error.toFixed(2)}%, top-5 error ${result.top5Error.toFixed(2)}% on ${result.images} images (${transform.views === 10 ? '10-crop' : 'centre crop'})`,
    );
}
