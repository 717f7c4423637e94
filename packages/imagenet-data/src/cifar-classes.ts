/**
 * CIFAR-10's ten classes in label order, as the official archives'
 * `batches.meta` (and `batches.meta.txt`) name them and torchvision's
 * `CIFAR10.classes` lists them: label 0 is `'airplane'`, label 9 `'truck'`.
 * {@link readCifarArchive} reads the same names from an archive; this
 * constant is for data that comes without them (arrays, exported models).
 */
export const CIFAR10_CLASSES: readonly string[] = Object.freeze([
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
]);
