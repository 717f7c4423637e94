import { totalmem } from 'node:os';

/** Longest buffer pooled by default: 32 MiB of float32. */
export const DEFAULT_MAX_POOLED_LENGTH = 2 ** 23;

/**
 * A free list of float32 output buffers, keyed by length.
 *
 * The tfjs cpu backend gives every kernel output a fresh zero-filled
 * `Float32Array`; for the multi-megabyte activations of a training step that
 * costs a zeroing pass, page faults and garbage-collector work per kernel.
 * The native kernels write every element of their output, so they can take a
 * buffer that an earlier, disposed tensor left behind instead.
 *
 * A buffer is recycled only when nothing else can still see it:
 * - only buffers this pool handed out are tracked (never arrays a user passed
 *   to `tf.tensor`, nor the cpu kernels' own outputs);
 * - a buffer whose values were read out (`dataSync`, `data`, `array`, …)
 *   is dropped from tracking for good, since the caller keeps the array;
 * - a buffer is counted once per tensor-data entry that stores it or a view
 *   of it (the cpu `Slice` kernel returns views of its input), and is only
 *   freed when the last such entry is deleted;
 * - a freed buffer that a kernel stores again is taken back out of the pool.
 */
export class BufferPool {
  /** Free buffers by length, most recently freed last. */
  private readonly free = new Map<number, Float32Array[]>();
  /**
   * Tracked buffers: how many data entries hold each, its full view, and
   * whether it is in a free list. Weak, so that buffers of tensors that are
   * never disposed are still collected.
   */
  private readonly tracked = new WeakMap<ArrayBufferLike, Tracked>();
  private pooledBytes = 0;
  /** Released buffers that will not be pooled, to discard at the next take(). */
  private readonly pending = new Set<Tracked>();
  /** Buffers handed out from the pool rather than freshly allocated. */
  reused = 0;
  /** Buffers allocated because the pool had none of the length asked for. */
  allocated = 0;
  /** Freed buffers that were not pooled (too long, or the pool was full) and were discarded. */
  discarded = 0;

  /**
   * @param capacityBytes - The most bytes the pool keeps while they are unused;
   *   buffers freed beyond it are discarded. 0 disables pooling (and tracking).
   * @param minLength - Buffers shorter than this are not pooled or tracked (small
   *   arrays are cheap to allocate).
   * @param maxLength - Buffers longer than this are tracked but never pooled.
   *   There are few of them per step (a VGG classifier's weight, its gradient and
   *   its optimizer temporaries), so allocating them afresh costs little next to
   *   the work on them, while keeping them idle between uses would add their size
   *   to the process's peak memory. glibc's malloc draws a similar line (its mmap
   *   threshold, at most 32 MiB).
   * @param discard - Called with each tracked buffer that is freed and not pooled,
   *   to give its memory back at once instead of when the garbage collector runs
   *   (the addon's `discard`). Without it such buffers are just left to the collector.
   */
  constructor(
    readonly capacityBytes: number,
    readonly minLength = 1024,
    readonly maxLength = DEFAULT_MAX_POOLED_LENGTH,
    private readonly discard?: (view: Float32Array) => void,
  ) {}

  /**
   * A buffer of `length` floats whose contents are undefined: the caller must
   * write every element before the values can be seen.
   */
  take(length: number): Float32Array {
    this.flushDiscards();
    if (this.capacityBytes <= 0 || length < this.minLength) return new Float32Array(length);
    const list = length > this.maxLength ? undefined : this.free.get(length);
    const recycled = list?.pop();
    if (recycled) {
      const entry = this.tracked.get(recycled.buffer);
      if (entry) entry.pooled = false;
      this.pooledBytes -= recycled.byteLength;
      this.reused++;
      return recycled;
    }
    const fresh = new Float32Array(length);
    this.tracked.set(fresh.buffer, { refs: 0, view: fresh, pooled: false });
    this.allocated++;
    return fresh;
  }

  /** Called when a data entry starts holding `values`. */
  stored(values: unknown): void {
    const buffer = bufferOf(values);
    const entry = buffer && this.tracked.get(buffer);
    if (!entry) return;
    if (entry.pooled) this.unpool(entry);
    this.pending.delete(entry); // stored again: no longer to be discarded
    entry.refs++;
  }

  /** Called when a data entry holding `values` is deleted. */
  released(values: unknown): void {
    const buffer = bufferOf(values);
    const entry = buffer && this.tracked.get(buffer);
    if (!entry || --entry.refs > 0) return;
    entry.refs = 0;
    const { view } = entry;
    if (view.length > this.maxLength || this.pooledBytes + view.byteLength > this.capacityBytes) {
      // Discarded at the next take(), not now: a cpu kernel may dispose an
      // intermediate and store its values in its output right after, and a
      // store cancels the discard. Kernels that are not native never take().
      this.pending.add(entry);
      return;
    }
    let list = this.free.get(view.length);
    if (!list) this.free.set(view.length, (list = []));
    list.push(view);
    entry.pooled = true;
    this.pooledBytes += view.byteLength;
  }

  /** Called when `values` are handed out of the backend: they are never recycled. */
  escaped(values: unknown): void {
    const buffer = bufferOf(values);
    const entry = buffer && this.tracked.get(buffer);
    if (!entry) return;
    this.pending.delete(entry);
    this.tracked.delete(buffer);
  }

  /** Bytes held by free buffers. */
  get freeBytes(): number {
    return this.pooledBytes;
  }

  /** Drops every free buffer and carries out the pending discards. */
  clear(): void {
    this.flushDiscards();
    for (const list of this.free.values())
      for (const view of list) this.tracked.delete(view.buffer);
    this.free.clear();
    this.pooledBytes = 0;
  }

  /** Discards the buffers released unpooled since the last call, unless stored again meanwhile. */
  flushDiscards(): void {
    if (this.pending.size === 0) return;
    for (const entry of this.pending) {
      this.tracked.delete(entry.view.buffer);
      this.discarded++;
      this.discard?.(entry.view);
    }
    this.pending.clear();
  }

  private unpool(entry: Tracked): void {
    const list = this.free.get(entry.view.length);
    const at = list ? list.indexOf(entry.view) : -1;
    if (list && at >= 0) list.splice(at, 1);
    entry.pooled = false;
    this.pooledBytes -= entry.view.byteLength;
  }
}

interface Tracked {
  refs: number;
  view: Float32Array;
  pooled: boolean;
}

/** The memory behind any typed-array view (a kernel may view a buffer as another type). */
function bufferOf(values: unknown): ArrayBufferLike | undefined {
  return ArrayBuffer.isView(values) ? values.buffer : undefined;
}

/**
 * The pool's capacity in bytes: `CONVNETS_NATIVE_POOL_MB` mebibytes when set
 * (0 disables pooling), otherwise a quarter of the machine's memory, at most
 * 8 GiB. A training loop frees and reallocates the same sizes every step, so
 * the pool holds at most about one step's intermediates.
 */
export function poolCapacityFromEnv(): number {
  const raw = process.env.CONVNETS_NATIVE_POOL_MB;
  if (raw === undefined || raw.trim() === '') return Math.min(2 ** 33, Math.floor(totalmem() / 4));
  const mb = Number(raw);
  return Number.isFinite(mb) && mb > 0 ? Math.floor(mb * 2 ** 20) : 0;
}
