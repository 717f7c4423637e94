// Writes guides/03-model-zoo.md from summarize() of every model in the
// registry: names, stages and numbers come from the model packages' tables and
// the built models, never typed by hand.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { fileURLToPath } from 'node:url';
import { modelRegistry, summarize } from '@convnets/layers';
import { RESNET_ALIASES, RESNET_MODELS } from '@convnets/resnet';
import { VGG_ALIASES, VGG_MODELS } from '@convnets/vgg';
import { writeOrCheck } from './write-or-check.mjs';

tf.env().set('PROD', true);
await tf.setBackend('cpu');

const registry = modelRegistry(
  { models: RESNET_MODELS, aliases: RESNET_ALIASES },
  { models: VGG_MODELS, aliases: VGG_ALIASES },
);

// What the papers print for each model, to compare with the computed columns.
const PAPER = {
  resnet18: 'Table 1: 1.8×10⁹ FLOPs',
  resnet34: 'Table 1: 3.6×10⁹',
  resnet50: 'Table 1 counts the stride in the 1×1 conv: 3.8×10⁹',
  resnet101: 'Table 1: 7.6×10⁹',
  resnet152: 'Table 1: 11.3×10⁹',
  plain18: '§4.1, Figure 4',
  plain34: '§4.1, Figure 4',
  cifar_resnet20: 'Table 6: 0.27M',
  cifar_resnet32: 'Table 6: 0.46M',
  cifar_resnet44: 'Table 6: 0.66M',
  cifar_resnet56: 'Table 6: 0.85M',
  cifar_resnet110: 'Table 6: 1.7M',
  cifar_resnet1202: 'Table 6: 19.4M',
  vgg11: 'Table 2: 133M (A)',
  vgg11_lrn: 'Table 2: 133M (A-LRN)',
  vgg13: 'Table 2: 133M (B)',
  vgg16_c: 'Table 2: 134M (C)',
  vgg16: 'Table 2: 138M (D)',
  vgg19: 'Table 2: 144M (E)',
};

const count = (n) => n.toLocaleString('en-US');
const giga = (n) => (n / 1e9).toFixed(2);

function row(entry) {
  const net = entry.build({ skipInit: true });
  const s = summarize(net);
  const stages = entry.stages
    .map((stage) => net.getLayer(stage.layer).outputShape.slice(1).join('×'))
    .join(' → ');
  net.dispose();
  const torchvision = entry.inTorchvision ? 'yes' : '';
  return `| \`${entry.name}\` | ${count(s.trainableParams)} | ${count(s.nonTrainableParams)} | ${giga(s.multiplyAdds)} | ${stages} | ${torchvision} | ${PAPER[entry.name] ?? ''} |`;
}

function table(entries) {
  return [
    '| model | parameters | BN statistics | multiply-adds (G) | stage outputs | torchvision | paper |',
    '| --- | ---: | ---: | ---: | --- | --- | --- |',
    ...entries.map(row),
  ];
}

/** One row per pretrained weights of the registry: what `pretrained(name, weights)` of @convnets/hub loads. */
function weightsTable(entries) {
  const rows = entries.flatMap((entry) =>
    Object.values(entry.weights).map((w) => {
      const isDefault = w.name === entry.defaultWeights ? ' (`DEFAULT`)' : '';
      const { resizeSize, cropSize } = w.transforms;
      const file = w.url.split('/').pop();
      return `| \`${entry.name}\` | \`${w.name}\`${isDefault} | ${w.metrics.acc1.toFixed(3)} | ${w.metrics.acc5.toFixed(3)} | ${resizeSize} → ${cropSize} | [\`${file}\`](${w.url}) |`;
    }),
  );
  return [
    '| model | weights | acc@1 | acc@5 | resize → crop | file |',
    '| --- | --- | ---: | ---: | --- | --- |',
    ...rows,
  ];
}

const entries = registry.names.map((name) => registry.models[name]);
const of = (predicate) => entries.filter(predicate);
const paperResNet50 = summarize(RESNET_MODELS.resnet50.build({ skipInit: true, strideIn: '1x1' }));

const lines = [
  '---',
  'title: 3. The model zoo',
  '---',
  '',
  '# The model zoo',
  '',
  'Every model of the registry',
  '([`RESNET_MODELS`](../../packages/resnet/src/models.ts),',
  '[`VGG_MODELS`](../../packages/vgg/src/models.ts)), summarised by',
  '[`summarize()`](../../packages/layers/src/summary.ts) when these docs were',
  'built (so the numbers are computed, not',
  'typed). Parameters are trainable parameters, as torchvision counts them; BN',
  'statistics are the non-trainable moving means and variances; multiply-adds are',
  "per image in convolutions and fully connected layers, the ResNet paper's",
  '"FLOPs". ImageNet models at 224×224, CIFAR models at 32×32. Stage outputs are',
  "the registry's stages (what",
  '[`stageOutputs()`](../../packages/resnet/src/features.ts) returns for a ResNet).',
  '',
  '## ResNets (He et al., arXiv 1512.03385; Wide ResNets: Zagoruyko & Komodakis, arXiv 1605.07146)',
  '',
  ...table(of((e) => e.family === 'resnet' && e.dataset === 'imagenet')),
  '',
  '## CIFAR-10 ResNets (§4.2; option-A shortcuts)',
  '',
  ...table(of((e) => e.dataset === 'cifar10')),
  '',
  '## VGG (Simonyan & Zisserman, arXiv 1409.1556)',
  '',
  ...table(of((e) => e.family === 'vgg')),
  '',
  '## Pretrained weights (torchvision)',
  '',
  "torchvision's ImageNet-1K weights, as the registry lists them (`weights`,",
  "`defaultWeights`), with torchvision's reported single-crop accuracy and the",
  'eval transform they need. Load one with `pretrained(model, weights)` of',
  '`@convnets/hub`, or `convnets predict --arch <model> --weights <weights>`.',
  '',
  ...weightsTable(entries),
  '',
  "The paper's Table 1 counts multiply-adds with the stride of a downsampling",
  'bottleneck in its first 1×1 convolution; torchvision (and our default,',
  "`strideIn: '3x3'`) moves it to the 3×3 convolution, which costs more but is",
  `slightly more accurate: \`resnet50\` with \`strideIn: '1x1'\` costs ${giga(paperResNet50.multiplyAdds)} G.`,
  '',
  'Older command-line spellings stay accepted as aliases:',
  Object.entries(registry.aliases)
    .map(([alias, name]) => `\`${alias}\` → \`${name}\``)
    .join(', ') + '.',
  '',
];
writeOrCheck(
  fileURLToPath(new URL('../guides/03-model-zoo.md', import.meta.url)),
  lines.join('\n'),
);
