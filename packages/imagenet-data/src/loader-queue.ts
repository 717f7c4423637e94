// The hand-over between a loader's producer (decoding, assembling batches) and
// its consumer (the iterator's next()): a queue that holds at most `prefetch`
// batches, plus the markers, errors and end that travel with them.
import type { LoaderState, SkippedImage } from './loader-types';

/** A batch assembled on typed arrays, before it becomes tensors. */
export interface PreparedBatch {
  kind: 'batch';
  images: Float32Array;
  count: number;
  labels: number[];
  paths: string[];
  indices: number[];
  epoch: number;
  skipped: SkippedImage[];
  state: LoaderState;
}

/** The end of an epoch: the position after it, and what no batch carried. */
export interface Marker {
  kind: 'marker';
  state: LoaderState;
  skipped: SkippedImage[];
  dropped: number;
}

/** What the producer hands the consumer, in order. */
export type Item = PreparedBatch | Marker | { kind: 'error'; error: Error } | { kind: 'end' };

/**
 * A queue of {@link Item}s with back-pressure on batches only: `push` of a
 * batch waits while `prefetch` batches are ready and unread. Once stopped,
 * pushes are dropped and a waiting producer is released.
 */
export class ReadyQueue {
  private readonly ready: Item[] = [];
  private batchesReady = 0;
  private stopped = false;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;

  constructor(private readonly prefetch: number) {}

  /** Whether the consumer has stopped the iteration. */
  get isStopped(): boolean {
    return this.stopped;
  }

  private signal(which: 'consumer' | 'producer'): void {
    const wake = which === 'consumer' ? this.wakeConsumer : this.wakeProducer;
    if (which === 'consumer') this.wakeConsumer = undefined;
    else this.wakeProducer = undefined;
    wake?.();
  }

  /** Producer: queues `item`, first waiting for room when it is a batch. */
  async push(item: Item): Promise<void> {
    while (item.kind === 'batch' && this.batchesReady >= this.prefetch && !this.stopped) {
      await new Promise<void>((resolve) => (this.wakeProducer = resolve));
    }
    if (this.stopped) return;
    if (item.kind === 'batch') this.batchesReady++;
    this.ready.push(item);
    this.signal('consumer');
  }

  /** Producer: queues the error that ended it, even after a stop. */
  pushFailure(error: Error): void {
    this.ready.push({ kind: 'error', error });
    this.signal('consumer');
  }

  /** Consumer: the next item, or undefined when none is ready. */
  shift(): Item | undefined {
    return this.ready.shift();
  }

  /** Consumer: resolves when the producer next queues an item. */
  waitForItem(): Promise<void> {
    return new Promise<void>((resolve) => (this.wakeConsumer = resolve));
  }

  /** Consumer: a batch was taken, which makes room for the producer. */
  batchTaken(): void {
    this.batchesReady--;
    this.signal('producer');
  }

  /** Consumer: stops the producer (its pending and later pushes are dropped). */
  stop(): void {
    this.stopped = true;
    this.signal('producer');
  }
}
