// `npm run bench`: how fast the loader turns real ImageNet photos into
// [32, 224, 224, 3] float32 batches with the ResNet paper's training
// transform (random shorter side S ∈ [256, 480], random 224×224 crop, flip,
// PCA lighting, mean subtraction), and where its CPU time goes.
//
// 1. Throughput on 1 and on 2 cores (pinned with taskset): our loader; a
//    minimal sharp-only loop on the same photos (the same geometry, sharp's
//    defaults, raw bytes out, nothing else: the floor for "sharp decodes it");
//    and torchvision's equivalent (PIL + DataLoader with as many workers as
//    cores) when Debian's python3-torch/python3-torchvision are installed.
//    Images/s of wall time and images per CPU-second (all threads and worker
//    processes), which other load on the machine disturbs less.
//    Our loader renders these JPEGs with its libjpeg-turbo fast path (see the
//    README); the stage table also shows its sharp path.
// 2. CPU milliseconds per image, stage by stage, on one core, one image at a
//    time (each call's CPU time, the least of a few repetitions, averaged over
//    the photos and a few random plans).
// 3. The comparison with what a ResNet-50 training step consumes on
//    @convnets/backend-native (measured with that package's own bench child,
//    batch 8, one warm-up step and one timed step on all cores), or a figure
//    given with --resnet50-images-per-second.
// 4. Resident memory over 10,000 decoded images.
//
// Options: --images N (per throughput run, default 2000), --rounds N (runs of each
// side per core count, alternating, best kept; default 2), --memory-images N
// (default 10000, 0 to skip), --photos DIR, --stage-plans N (random plans per
// photo in the stage table, default 3; 0 to skip), --skip-torch,
// --resnet50-images-per-second X (or CONVNETS_RESNET50_IMG_S=X: use this
// figure instead of measuring), --skip-resnet50. A measurement child alone:
// --worker loader|sharp --in-flight N --count N [--apply-icc] (the loader with
// ICC profiles colour-managed, sharp's default, to compare with ours).
//
// With --cifar: the CIFAR mode instead (bench/cifar.mjs): the loader on
// 32×32 JPEGs with cifarTrain(), through the fast path and through sharp,
// the same images from memory, and what a ResNet-20 step consumes. Options:
// --cifar-dir DIR (default ../shared/data/cifar10-jpeg/train), --cifar-images
// N (default 4000), --rounds N, --resnet20-images-per-second X, --skip-resnet20.
//
// Decodes run on libuv's thread pool, so each measurement is a child process
// started with UV_THREADPOOL_SIZE = 2 × cores (libuv's default, 4, on 2
// cores), and with sharp.concurrency(1): one libvips thread per image, the
// images in flight giving the parallelism. The loader keeps its default
// 4 × cores images in flight (a backlog in the pool kept both cores busy:
// 5–7% more images/s than 2 × cores in trials on 2 cores); the plain sharp
// loop keeps 2 × cores (more only added contention).
//
// The parts live in bench/: options.mjs (these options, the photos),
// workers.mjs (the throughput children), stages.mjs (the stage table's
// child), torch.mjs, resnet50.mjs (the training steps' figures), cifar.mjs
// (the CIFAR mode), children.mjs (starting them) and report.mjs (the
// parent, its tables).
import { cifarMain, cifarWorker } from './bench/cifar.mjs';
import { flag, images, option } from './bench/options.mjs';
import { main } from './bench/report.mjs';
import { stagesWorker } from './bench/stages.mjs';
import { loaderWorker, sharpWorker } from './bench/workers.mjs';

if (flag('worker') && option('worker').startsWith('cifar-')) {
  console.log(JSON.stringify(await cifarWorker(option('worker').slice('cifar-'.length))));
} else if (flag('worker')) {
  const mode = option('worker');
  const count = Number(option('count', images));
  const inFlight = Number(option('in-flight', 4));
  const result =
    mode === 'loader'
      ? await loaderWorker(inFlight, count)
      : mode === 'sharp'
        ? await sharpWorker(inFlight, count)
        : await stagesWorker(count);
  console.log(JSON.stringify(result));
} else if (flag('cifar')) {
  cifarMain();
} else {
  await main();
}
