import type { Command } from '@commander-js/extra-typings';
import { imageFolder } from '@convnets/imagenet-data';
import { evaluate, folderEvaluationData, type EvaluationData } from '@convnets/trainer';
import { architecture, tenCropRefusal } from '../architectures';
import { loadModel } from '../model';
import { backendOption, int, preprocessOption, splitData, useBackend } from '../options';
import { fail, progressBar } from '../output';

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
      'checkpoint folder, run folder (its best checkpoint), or .safetensors file (torchvision state dict)',
    )
    .requiredOption('--data <dir>', 'images (root/<class>/…, or a folder holding val/)')
    .option('--ten-crop', '10-crop testing (ImageNet architectures)')
    .option('--batch-size <n>', 'images per batch (default 32)', int('batch-size'))
    .option('--image-size <px>', 'input size', int('image-size'))
    .addOption(preprocessOption())
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

/** `convnets eval`: loads the weights, evaluates them on the folder, prints the errors. */
async function runEval(o: EvalFlags): Promise<void> {
  const refusal = o.tenCrop ? tenCropRefusal(architecture(o.arch)) : undefined;
  if (refusal) fail(refusal);
  await useBackend(o.backend, false);
  const dataDir = splitData(o.data).val ?? o.data;
  const { model, classes, size, preprocessing } = await loadModel(o.arch, o.weights, {
    imageSize: o.imageSize,
    preprocess: o.preprocess,
    // A state dict's classes are the data folder's, sorted (as torchvision's ImageFolder).
    classNames: async (count) => {
      const found = (await imageFolder(dataDir)).classes;
      if (found.length !== count)
        fail(
          `weights ${o.weights} classify ${count} classes but ${dataDir} has ${found.length} class folders`,
        );
      return found;
    },
  });
  const dataset = await imageFolder(dataDir, { classes });
  const transform = architecture(o.arch).evalTransform(size, o.tenCrop, preprocessing);
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
    preprocessing: architecture(o.arch).family === 'cifar' ? 'cifar' : preprocessing,
    ...result,
  };
  if (o.json) console.log(JSON.stringify(report));
  else
    console.log(
      `top-1 error ${result.top1Error.toFixed(2)}%, top-5 error ${result.top5Error.toFixed(2)}% on ${result.images} images (${transform.views === 10 ? '10-crop' : 'centre crop'})`,
    );
}
