// A loader's producer: for each epoch, dispatch decodes in reading order with
// bounded concurrency, collect them in that order, assemble them into batches
// (accounting for skipped images) and hand those to the ReadyQueue.
import type { ImageDecodeError } from './decode';
import type { Sample } from './folder';
import type { LoaderPosition, LoaderState } from './loader-types';
import type { Marker, PreparedBatch, ReadyQueue } from './loader-queue';
import { normalizeWithAddon } from './fast-jpeg';
import { normalizeInto } from './normalization';
import type { RenderedSample } from './pipeline';
import type { Transform } from './transforms';

/** A decode's result: the rendered sample, or why it could not be read. */
export type Outcome = { ok: true; sample: RenderedSample } | { ok: false; error: Error };

/** What the producer needs from its loader. */
export interface ProducerContext {
  readonly samples: readonly Sample[];
  readonly transform: Transform;
  readonly batchSize: number;
  readonly height: number;
  readonly width: number;
  readonly epochs: number;
  readonly concurrency: number;
  readonly strict: boolean;
  readonly dropLast: boolean;
  epochOrder(epoch: number): Uint32Array;
  /** Starts decoding dataset sample `index` for `epoch`; never rejects. */
  load(index: number, epoch: number): Promise<Outcome>;
  stateAt(epoch: number, position: number): LoaderState;
}

interface Pending {
  position: number;
  index: number;
  outcome: Promise<Outcome>;
}

/**
 * The decodes of one epoch in flight. It keeps `concurrency` decodes running
 * whatever order they finish in: images are still collected in order, but a
 * slow one at the head (a 20-megapixel photo) does not idle the other
 * threads. Finished images wait in the window, which holds at most
 * 2 × concurrency of them.
 */
class DecodeWindow {
  private readonly pending: Pending[] = [];
  private running = 0;
  private halted = false;

  constructor(
    private readonly ctx: ProducerContext,
    private readonly order: Uint32Array,
    private readonly epoch: number,
    private cursor: number,
    private readonly stopped: () => boolean,
  ) {}

  /** Whether every image of the epoch has been collected. */
  get exhausted(): boolean {
    return this.cursor >= this.order.length && this.pending.length === 0;
  }

  /** Starts decodes while there is room (each one that settles calls this again). */
  dispatch(): void {
    const limit = this.ctx.concurrency;
    while (
      !this.stopped() &&
      !this.halted &&
      this.running < limit &&
      this.pending.length < 2 * limit &&
      this.cursor < this.order.length
    ) {
      this.running++;
      const done = () => {
        this.running--;
        this.dispatch();
      };
      const outcome = this.ctx.load(this.order[this.cursor], this.epoch);
      outcome.then(done, done);
      this.pending.push({ position: this.cursor, index: this.order[this.cursor], outcome });
      this.cursor++;
    }
  }

  /** Dispatches, then waits for the next image in reading order. */
  async collect(): Promise<{ position: number; index: number; outcome: Outcome }> {
    this.dispatch();
    const head = this.pending.shift()!;
    return { position: head.position, index: head.index, outcome: await head.outcome };
  }

  /** Starts no more decodes and waits for those in flight. */
  async halt(): Promise<void> {
    this.halted = true;
    await this.drain();
  }

  /** Waits for the decodes in flight. */
  async drain(): Promise<void> {
    await Promise.all(this.pending.map((p) => p.outcome));
  }
}

/** Fills one epoch's batches, image by image, with skip accounting. */
class BatchAssembler {
  private readonly viewSize: number;
  private readonly imageSize: number;
  private batch: PreparedBatch;

  constructor(
    private readonly ctx: ProducerContext,
    private readonly epoch: number,
  ) {
    this.viewSize = ctx.height * ctx.width * 3;
    this.imageSize = this.viewSize * ctx.transform.views;
    this.batch = this.newBatch();
  }

  private newBatch(): PreparedBatch {
    return {
      kind: 'batch',
      images: new Float32Array(this.ctx.batchSize * this.imageSize),
      count: 0,
      labels: [],
      paths: [],
      indices: [],
      epoch: this.epoch,
      skipped: [],
      state: this.ctx.stateAt(this.epoch, 0),
    };
  }

  /** Images in the batch being filled. */
  get count(): number {
    return this.batch.count;
  }

  /** Whether the batch being filled is complete. */
  get full(): boolean {
    return this.batch.count === this.ctx.batchSize;
  }

  /** Records dataset sample `index` as skipped (unreadable, non-strict mode). */
  skip(index: number, error: Error): void {
    this.batch.skipped.push({
      path: this.ctx.samples[index].path,
      reason: (error as ImageDecodeError).reason ?? error.message,
      epoch: this.epoch,
    });
  }

  /** Normalises dataset sample `index`'s views into the batch. */
  add(index: number, rendered: RenderedSample): void {
    const { samples, transform, height, width } = this.ctx;
    const sample = samples[index];
    const batch = this.batch;
    const views = transform.views;
    for (let v = 0; v < views; v++) {
      const view = rendered.views[v];
      if (view.height !== height || view.width !== width) {
        throw new Error(
          `${transform.name} produced a ${view.height}×${view.width} view of ${sample.path}; expected ${height}×${width}.`,
        );
      }
      const offset = (batch.count * views + v) * this.viewSize;
      normalizeInto(
        batch.images,
        offset,
        view.data,
        transform.normalization,
        rendered.rgbOffset,
        normalizeWithAddon,
      );
    }
    batch.count++;
    batch.labels.push(sample.label);
    batch.paths.push(sample.path);
    batch.indices.push(index);
  }

  /**
   * Hands over the batch, resuming at `position`, and starts the next;
   * `trim` cuts an incomplete batch's images to its count.
   */
  take(position: number, trim = false): PreparedBatch {
    const batch = this.batch;
    batch.state = this.ctx.stateAt(this.epoch, position);
    if (trim) batch.images = batch.images.slice(0, batch.count * this.imageSize);
    this.batch = this.newBatch();
    return batch;
  }

  /** The epoch's end: the marker carrying what no batch will, after the last batch if kept. */
  finish(length: number): { last: PreparedBatch | undefined; marker: Marker } {
    let last: PreparedBatch | undefined;
    let dropped = 0;
    if (this.batch.count > 0 && !this.ctx.dropLast) last = this.take(length, true);
    else dropped = this.batch.count;
    const state = this.ctx.stateAt(this.epoch + 1, 0);
    return { last, marker: { kind: 'marker', state, skipped: this.batch.skipped, dropped } };
  }
}

/**
 * Produces one epoch from `first` in its order; returns false when it ended
 * the iteration (a strict-mode decode error, or the consumer stopped).
 */
async function produceEpoch(
  ctx: ProducerContext,
  queue: ReadyQueue,
  epoch: number,
  first: number,
): Promise<boolean> {
  const order = ctx.epochOrder(epoch);
  const window = new DecodeWindow(ctx, order, epoch, first, () => queue.isStopped);
  const assembler = new BatchAssembler(ctx, epoch);
  while (!queue.isStopped && !window.exhausted) {
    const { position, index, outcome } = await window.collect();
    if (queue.isStopped) break;
    if (!outcome.ok) {
      if (ctx.strict) {
        await window.halt();
        await queue.push({ kind: 'error', error: outcome.error });
        return false;
      }
      assembler.skip(index, outcome.error);
    } else {
      assembler.add(index, outcome.sample);
    }
    if (assembler.full) await queue.push(assembler.take(position + 1));
  }
  if (queue.isStopped) {
    await window.drain();
    return false;
  }
  const { last, marker } = assembler.finish(order.length);
  if (last) await queue.push(last);
  await queue.push(marker);
  return true;
}

/**
 * Produces the epochs from `start` to the last, then the end; a thrown error
 * (a view of the wrong size) rejects, for the caller to queue.
 */
export async function produce(
  ctx: ProducerContext,
  queue: ReadyQueue,
  start: LoaderPosition,
): Promise<void> {
  for (let epoch = start.epoch; epoch < ctx.epochs && !queue.isStopped; epoch++) {
    const first = epoch === start.epoch ? start.position : 0;
    if (!(await produceEpoch(ctx, queue, epoch, first))) return;
  }
  await queue.push({ kind: 'end' });
}
