// Fine-tuning: torchvision's ImageNet ResNet-18 on your own image folder
// (photos/train/<class>/*.jpg, photos/val/<class>/*.jpg). First the new head
// alone on the frozen backbone, then the whole network at a tenth of the rate.
import type { ModelEntry } from '@convnets/layers';
import { pretrained } from '@convnets/hub';
import { imageFolder, torchvisionEval, torchvisionTrain } from '@convnets/imagenet-data';
import { folderEvaluationData, folderTrainingData, train } from '@convnets/trainer';
import type { LayersModel } from '@tensorflow/tfjs-layers';

export interface FineTuneOptions {
  /** A registry name with weights (`resnet50`, `vgg16_bn`), or a registry entry. */
  arch?: string | ModelEntry;
  weights?: string;
  size?: number;
  steps?: number;
  /** Called between the phases (to evaluate or save the head-only model, say). */
  afterHead?: (net: LayersModel) => void;
}

export async function main(photos: string, options: FineTuneOptions = {}) {
  const { arch = 'resnet18', weights = 'IMAGENET1K_V1', size = 224, steps = 100 } = options;
  const folder = await imageFolder(`${photos}/train`);
  // The ImageNet backbone, and a fresh head of as many classes as the folder has.
  const net = await pretrained(arch, weights, {
    classes: folder.classes.length,
    classifierActivation: null,
    inputShape: [size, size, 3],
    seed: 1, // the same fresh head every run
  });
  const data = folderTrainingData(folder, { transform: torchvisionTrain({ size }), batchSize: 16 });
  const validation = folderEvaluationData(await imageFolder(`${photos}/val`), {
    transform: torchvisionEval({ size, resize: Math.round(size / 0.875) }), // 256 → 224
  });
  const recipe = { model: net, data, validation, steps, optimizer: { momentum: 0.9 } };

  // 1. Freeze everything but the head: the trainer updates trainable weights only.
  for (const layer of net.layers) layer.trainable = layer.name === 'predictions';
  const head = await train({ ...recipe, lr: 0.01 });
  options.afterHead?.(net);

  // 2. Unfreeze, and train the whole network with a lower learning rate.
  for (const layer of net.layers) layer.trainable = true;
  const all = await train({ ...recipe, lr: 0.001 });
  return { net, head, all }; // head.validation, all.validation: top-1/top-5 error
}
