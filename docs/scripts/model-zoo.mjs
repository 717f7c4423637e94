// Writes guides/03-model-zoo.md from summarize() of every factory: the
// numbers in the docs are computed at build time, never typed by hand.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { writeFileSync } from 'node:fs';
import { summarize } from '@convnets/layers';
import * as resnet from '@convnets/resnet';
import * as vgg from '@convnets/vgg';

tf.env().set('PROD', true);
await tf.setBackend('cpu');

const count = (n) => n.toLocaleString('en-US');
const giga = (n) => (n / 1e9).toFixed(2);

function row(name, build, paper) {
  const net = build();
  const s = summarize(net);
  const stages = [
    'conv2',
    'conv3',
    'conv4',
    'conv5',
    'block1_pool',
    'block2_pool',
    'block3_pool',
    'block4_pool',
    'block5_pool',
  ]
    .map((stage) => {
      const last = [...net.layers]
        .reverse()
        .find(
          (l) =>
            l.name === stage || (l.name.startsWith(`${stage}_block`) && l.name.endsWith('_out')),
        );
      return last ? `${last.outputShape.slice(1).join('×')}` : null;
    })
    .filter(Boolean)
    .join(' → ');
  net.dispose();
  return `| \`${name}\` | ${count(s.trainableParams)} | ${count(s.nonTrainableParams)} | ${giga(s.multiplyAdds)} | ${stages} | ${paper} |`;
}

const header = [
  '| factory | parameters | BN statistics | multiply-adds (G) | stage outputs | paper |',
  '| --- | ---: | ---: | ---: | --- | --- |',
];
const opts = { skipInit: true };
const resnets = [
  ['resnet18()', () => resnet.resnet18(opts), 'Table 1: 1.8×10⁹ FLOPs'],
  ['resnet34()', () => resnet.resnet34(opts), 'Table 1: 3.6×10⁹'],
  ['resnet50()', () => resnet.resnet50(opts), 'Table 1 counts the next row'],
  [
    "resnet50({ strideIn: '1x1' })",
    () => resnet.resnet50({ ...opts, strideIn: '1x1' }),
    'Table 1: 3.8×10⁹',
  ],
  ['resnet101()', () => resnet.resnet101(opts), 'Table 1: 7.6×10⁹'],
  ['resnet152()', () => resnet.resnet152(opts), 'Table 1: 11.3×10⁹'],
  ['plain18()', () => resnet.plain18(opts), '§4.1, Figure 4'],
  ['plain34()', () => resnet.plain34(opts), '§4.1, Figure 4'],
];
const cifar = [20, 32, 44, 56, 110].map((d) => [
  `cifarResNet(${d})`,
  () => resnet.cifarResNet(d, opts),
  'Table 6',
]);
const vggs = [
  ['vgg11()', () => vgg.vgg11(opts), 'Table 2: 133M (A)'],
  ['vgg11Lrn()', () => vgg.vgg11Lrn(opts), 'Table 2: 133M (A-LRN)'],
  ['vgg13()', () => vgg.vgg13(opts), 'Table 2: 133M (B)'],
  ['vgg16C()', () => vgg.vgg16C(opts), 'Table 2: 134M (C)'],
  ['vgg16()', () => vgg.vgg16(opts), 'Table 2: 138M (D)'],
  ['vgg19()', () => vgg.vgg19(opts), 'Table 2: 144M (E)'],
  [
    'vgg16({ batchNorm: true })',
    () => vgg.vgg16({ ...opts, batchNorm: true }),
    'torchvision vgg16_bn',
  ],
];

const lines = [
  '---',
  'title: 3. The model zoo',
  '---',
  '',
  '# The model zoo',
  '',
  'Every factory, summarised by `summarize()` when these docs were built (so the',
  'numbers are computed, not typed). Parameters are trainable parameters, as',
  'torchvision counts them; BN statistics are the non-trainable moving means and',
  'variances; multiply-adds are per image in convolutions and fully connected',
  'layers, the ResNet paper\'s "FLOPs". ImageNet models at 224×224, CIFAR models at 32×32.',
  '',
  '## ResNets (He et al., arXiv 1512.03385)',
  '',
  ...header,
  ...resnets.map(([n, b, p]) => row(n, b, p)),
  '',
  '## CIFAR-10 ResNets (§4.2; option-A shortcuts)',
  '',
  ...header,
  ...cifar.map(([n, b, p]) => row(n, b, p)),
  '',
  '## VGG (Simonyan & Zisserman, arXiv 1409.1556)',
  '',
  ...header,
  ...vggs.map(([n, b, p]) => row(n, b, p)),
  '',
  "The paper's Table 1 counts multiply-adds with the stride of a downsampling",
  'bottleneck in its first 1×1 convolution; torchvision (and our default,',
  "`strideIn: '3x3'`) moves it to the 3×3 convolution, which costs more but is",
  'slightly more accurate.',
  '',
];
writeFileSync(new URL('../guides/03-model-zoo.md', import.meta.url), lines.join('\n'));
console.log('wrote guides/03-model-zoo.md');
