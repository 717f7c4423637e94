// Training from code: the trainer's API on a small synthetic image folder,
// with the CIFAR recipe scaled down. Swap in imageFolder('/data/imagenet/train'),
// resnetPaperTrain() and resnet50() for the real thing.
import { cifarResNet } from '@convnets/resnet';
import { cifarEval, cifarTrain, imageFolder, synthesizeImageFolder } from '@convnets/imagenet-data';
import { selectBackend } from '@convnets/cli';
import { folderEvaluationData, folderTrainingData, train } from '@convnets/trainer';

export async function main(workDir: string, steps = 6) {
  // tfjs-node-gpu → tfjs-node → @convnets/backend-native → cpu, whichever loads first.
  await selectBackend('auto');

  const folder = await synthesizeImageFolder(`${workDir}/data`, {
    classes: 3,
    perClass: 16,
    size: 8,
    seed: 1,
  });
  const model = cifarResNet(8, { inputShape: [8, 8, 3], classes: 3, classifierActivation: null });
  const result = await train({
    model,
    data: folderTrainingData(await imageFolder(folder.train), {
      transform: cifarTrain({ size: 8, padding: 1 }),
      batchSize: 8,
    }),
    validation: folderEvaluationData(await imageFolder(folder.val), {
      transform: cifarEval({ size: 8 }),
    }),
    steps,
    lr: 0.1,
    schedule: { kind: 'multistep', milestones: [Math.floor(steps / 2)], unit: 'iteration' },
    optimizer: { momentum: 0.9, weightDecay: 1e-4 },
    outDir: `${workDir}/run`,
  });
  model.dispose();
  // result.steps, result.validation (top-1/top-5 error), result.checkpoint; metrics.jsonl in outDir.
  return result;
}
