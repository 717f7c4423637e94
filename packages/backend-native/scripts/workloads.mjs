// The benchmark workloads, shared by the tfjs child process and described to
// the PyTorch one: one table of names, models and sizes.
export const WORKLOADS = {
  'resnet20-train': {
    label: 'ResNet-20 CIFAR train step',
    model: 'resnet20',
    size: 32,
    classes: 10,
    batch: 128,
    train: true,
  },
  'resnet50-train': {
    label: 'ResNet-50 train step',
    model: 'resnet50',
    size: 224,
    classes: 1000,
    batch: 8,
    train: true,
  },
  'resnet50-forward': {
    label: 'ResNet-50 forward',
    model: 'resnet50',
    size: 224,
    classes: 1000,
    batch: 8,
    train: false,
  },
  'vgg16-train': {
    label: 'VGG-16 train step',
    model: 'vgg16',
    size: 224,
    classes: 1000,
    batch: 8,
    train: true,
  },
};
