// Using torchvision weights: load a PyTorch checkpoint, evaluate.
//
// torchvision's own download loads as it is (resnet50-11ad3fa6.pth for
// IMAGENET1K_V2), or in Python:
//   import torch, torchvision
//   m = torchvision.models.resnet50(weights="IMAGENET1K_V2")
//   torch.save(m.state_dict(), "resnet50.pth")
// A .safetensors file (Hugging Face serves torchvision/timm weights so) loads the same way.
import * as tf from '@tensorflow/tfjs-core';
import { loadWeights, resnet50, saveWeights } from '@convnets/resnet';

export async function main(weightsPath: string, inputSize = 224) {
  // Logits out (classifierActivation: null), no random initialisation to throw away.
  const net = resnet50({
    classifierActivation: null,
    skipInit: true,
    inputShape: [inputSize, inputSize, 3],
  });
  // Names are mapped (layer1.0.conv1.weight → conv2_block1_1_conv/kernel) and layouts
  // converted (OIHW → HWIO); a file that does not fit is refused as a whole, listing why.
  await loadWeights(net, weightsPath, { from: 'torchvision' });

  const x = tf.randomNormal([1, inputSize, inputSize, 3], 0, 1, 'float32', 0);
  const logits = net.predict(x) as tf.Tensor2D;
  const top1 = (await tf.argMax(logits, 1).data())[0];
  // Weights go back to PyTorch: saveWeights(net, 'out.pth'), then torch.load('out.pth').
  const roundTrip = await saveWeights(net);
  tf.dispose([x, logits]);
  net.dispose();
  return { top1, bytes: roundTrip.byteLength };
}
