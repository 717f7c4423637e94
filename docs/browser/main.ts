// The classify page: loads a model `convnets export` wrote (?model=URL of its
// folder; default: the tiny model the docs build exports), picks the fastest
// tfjs backend the browser has, and shows the top-5 classes of a photo the
// reader drops or picks, preprocessed by the same code as the CLI's.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
// Our custom layers register themselves with tfjs's serialisation, so the model reads back.
import '../../packages/layers/src/custom/batch-normalization';
import '../../packages/layers/src/custom/local-response-normalization';
import '../../packages/layers/src/custom/zero-pad-channels';
import {
  IMAGENET_WNIDS,
  imagenetClass,
  preprocess,
  type Transform,
} from '@convnets/imagenet-data/browser';
import { transformFromJson, type ExportedPreprocessing } from './preprocessing';

/** The page's model: the network, its transform, its output kind and its class names. */
interface Classifier {
  model: LayersModel;
  transform: Transform;
  outputs: ExportedPreprocessing['outputs'];
  classes: string[];
}

/** One row of the top-5, as the page shows it and as the test reads it. */
export interface Row {
  name: string;
  probability: number;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** webgpu → webgl → wasm → cpu, or the one `?backend=` names. */
async function pickBackend(wanted: string | null): Promise<string> {
  setWasmPaths(new URL('./', document.baseURI).href);
  for (const name of wanted ? [wanted] : ['webgpu', 'webgl', 'wasm', 'cpu']) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
    } catch {
      // Not available here: the next one.
    }
  }
  throw new Error(`no tfjs backend of ${wanted ?? 'webgpu, webgl, wasm, cpu'} works here`);
}

/** ImageNet's wnids shown by their names ("tench"), as `convnets predict` shows them; other classes as they are. */
function readable(classes: string[]): string[] {
  const imagenet = classes.length === 1000 && classes.every((c, i) => c === IMAGENET_WNIDS[i]);
  return imagenet ? classes.map((wnid) => imagenetClass(wnid).name) : classes;
}

/** Fetches the exported folder at `base`: model.json and shards, preprocessing.json, classes.json. */
async function load(base: string): Promise<Classifier> {
  const url = (file: string) => new URL(file, base).href;
  const json = async (file: string) => {
    const r = await fetch(url(file));
    if (!r.ok) throw new Error(`${url(file)}: HTTP ${r.status}`);
    return r.json();
  };
  const [model, prep, classes] = await Promise.all([
    loadLayersModel(url('model.json')),
    json('preprocessing.json') as Promise<ExportedPreprocessing>,
    json('classes.json') as Promise<string[]>,
  ]);
  return {
    model,
    transform: transformFromJson(prep),
    outputs: prep.outputs,
    classes: readable(classes),
  };
}

/** The image's 8-bit RGBA pixels, decoded by the browser without colour conversion. */
async function pixels(file: Blob): Promise<ImageData> {
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none' });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d') as OffscreenCanvasRenderingContext2D;
  context.drawImage(bitmap, 0, 0);
  return context.getImageData(0, 0, bitmap.width, bitmap.height);
}

/** The five most probable classes of `image`. */
async function classify(c: Classifier, image: ImageData): Promise<Row[]> {
  const y = tf.tidy(() => {
    const out = c.model.predict(preprocess(image, c.transform)) as tf.Tensor2D;
    return c.outputs === 'logits' ? tf.softmax(out) : out;
  });
  const p = (await y.data()) as Float32Array;
  y.dispose();
  return [...p.keys()]
    .sort((a, b) => p[b] - p[a])
    .slice(0, Math.min(5, p.length))
    .map((i) => ({ name: c.classes[i], probability: p[i] }));
}

/** Shows the photo and its rows in the page. */
function show(file: Blob, rows: Row[]): void {
  $<HTMLImageElement>('photo').src = URL.createObjectURL(file);
  const list = $<HTMLOListElement>('top5');
  list.replaceChildren(
    ...rows.map((r) => {
      const li = document.createElement('li');
      li.dataset.name = r.name;
      li.dataset.probability = String(r.probability);
      li.textContent = `${r.name} — ${(100 * r.probability).toFixed(1)}%`;
      return li;
    }),
  );
}

/** Wires the file input and the drop zone to `run`. */
function listen(run: (file: Blob) => void): void {
  const input = $<HTMLInputElement>('file');
  input.addEventListener('change', () => input.files?.[0] && run(input.files[0]));
  const zone = $('drop');
  zone.addEventListener('dragover', (e) => e.preventDefault());
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    const file = e.dataTransfer?.files[0];
    if (file) run(file);
  });
}

/** Loads everything, then classifies each photo given. */
async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const status = $('status');
  const backend = await pickBackend(params.get('backend'));
  const base = new URL(params.get('model') ?? 'model/', document.baseURI).href;
  const c = await load(base.endsWith('/') ? base : `${base}/`);
  status.textContent = `${c.classes.length}-class model from ${base}, on ${backend}. Drop or pick a photo.`;
  document.body.dataset.backend = backend;
  document.body.dataset.ready = 'true';
  listen((file) => {
    status.textContent = 'Classifying…';
    pixels(file)
      .then((image) => classify(c, image))
      .then((rows) => {
        show(file, rows);
        status.textContent = `Top-5 on ${backend}:`;
      })
      .catch((e: Error) => (status.textContent = `Error: ${e.message}`));
  });
}

main().catch((e: Error) => {
  $('status').textContent = `Error: ${e.message}`;
  document.body.dataset.error = e.message;
});
