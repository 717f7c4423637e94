// Getting started: build a ResNet, summarise it, and classify a photo.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm'; // or '@tensorflow/tfjs-node' / '-node-gpu' / '@convnets/backend-native' for native speed
import { summarize } from '@convnets/layers';
import { resnet18 } from '@convnets/resnet';
import { decodePredictions, torchvisionEval, transformImage } from '@convnets/imagenet-data';

export async function main(imagePath: string) {
  await tf.setBackend('wasm');

  // 1. Build: ResNet-18 as in the paper's Table 1, torchvision's layout.
  const net = resnet18();
  const summary = summarize(net);
  console.log(
    `${net.name}: ${summary.trainableParams.toLocaleString()} parameters, ` +
      `${(summary.multiplyAdds / 1e9).toFixed(2)} G multiply-adds per image`,
  );

  // 2. Preprocess exactly as torchvision does for evaluation:
  //    shorter side to 256, centre 224×224 crop, ImageNet mean/std.
  const [view] = await transformImage(imagePath, torchvisionEval());
  const image = tf.tensor4d(view.data, [1, view.height, view.width, 3]);

  // 3. Predict. With random weights the classes are meaningless; load
  //    torchvision's weights first (see the guide "Using torchvision weights").
  const probabilities = net.predict(image) as tf.Tensor2D;
  const [top5] = decodePredictions(probabilities, 5);
  for (const row of top5) console.log(`${(100 * row.probability).toFixed(2)}%  ${row.name}`);

  tf.dispose([image, probabilities]);
  net.dispose();
  return { summary, top5 };
}
