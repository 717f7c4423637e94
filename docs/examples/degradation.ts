// The degradation experiment in miniature: plain and residual CIFAR networks
// at two depths, trained with one recipe and one seed, their training and
// validation error on one chart (the ResNet paper's Figure 6). For the real
// experiment, use your own image folder, depths 20 and 56, 32×32 images and the
// paper's 64k iterations; see the command lines above.
import { join } from 'node:path';
import { summarize } from '@convnets/layers';
import { cifarPlain, cifarResNet } from '@convnets/resnet';
import { cifarEval, cifarTrain, imageFolder, synthesizeImageFolder } from '@convnets/imagenet-data';
import { selectBackend, writeCurves } from '@convnets/cli';
import { folderEvaluationData, folderTrainingData, readMetrics, train } from '@convnets/trainer';

export async function main(workDir: string, depths = [8, 14], epochs = 2) {
  await selectBackend('auto');
  // Any folder laid out <class>/<image> works here; this one is synthetic and tiny.
  const folder = await synthesizeImageFolder(join(workDir, 'data'), {
    classes: 3,
    perClass: 8,
    size: 8,
    seed: 1,
  });
  const [trainImages, valImages] = [await imageFolder(folder.train), await imageFolder(folder.val)];

  const runs = [];
  for (const depth of depths) {
    for (const [kind, build] of [
      ['plain', cifarPlain],
      ['resnet', cifarResNet],
    ] as const) {
      const name = `${kind}${depth}`;
      const model = build(depth, { inputShape: [8, 8, 3], classes: 3, classifierActivation: null });
      const parameters = summarize(model).trainableParams;
      // The same recipe and data seed for every run: only the architecture differs.
      const result = await train({
        model,
        data: folderTrainingData(trainImages, {
          transform: cifarTrain({ size: 8, padding: 1 }),
          batchSize: 8,
          seed: 0,
        }),
        validation: folderEvaluationData(valImages, { transform: cifarEval({ size: 8 }) }),
        epochs,
        lr: 0.1,
        schedule: { kind: 'multistep', milestones: [Math.ceil(epochs / 2)], unit: 'epoch' },
        optimizer: { momentum: 0.9, weightDecay: 1e-4 },
        seed: 0,
        outDir: join(workDir, 'runs', name),
      });
      model.dispose();
      console.log(`${name}: ${parameters} parameters, ${result.steps} steps`);
      runs.push({ name, depth, kind, parameters, ...result });
    }
  }

  // What `convnets plot runs/plain8 runs/resnet8 … --out degradation.svg` draws.
  const chart = join(workDir, 'degradation.svg');
  await writeCurves(
    chart,
    runs.map((r) => ({
      name: r.name,
      rows: readMetrics(join(workDir, 'runs', r.name, 'metrics.jsonl')),
    })),
    { title: 'plain vs residual: top-1 error' },
  );
  return { runs, chart };
}
