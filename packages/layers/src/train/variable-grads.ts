import * as tf from '@tensorflow/tfjs-core';

/** One recorded kernel call on tfjs-core's gradient tape (engine internals, tfjs 4.x). */
interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}

/** The parts of tfjs-core's `Engine` this module drives. They are not public API. */
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  registeredVariables: Record<string, tf.Variable>;
  /** Hands out the next tensor id (ids only grow). */
  nextTensorId(): number;
  startTape(): void;
  endTape(): void;
}

/** What {@link variableGrads} returns: the same shape as `tf.variableGrads`' result. */
export interface VariableGradsResult {
  /** The scalar `f()` returned. */
  value: tf.Scalar;
  /**
   * Gradient of `value` for each trainable variable, keyed by `variable.name`. A
   * variable `f` does not depend on is missing; a non-trainable variable named in
   * `varList` maps to `null`, as in `tf.variableGrads`.
   */
  grads: Record<string, tf.Tensor | null>;
}

function engineInternals(): EngineInternals {
  const engine = tf.engine() as unknown as Partial<EngineInternals>;
  if (
    typeof engine.startTape !== 'function' ||
    typeof engine.endTape !== 'function' ||
    typeof engine.nextTensorId !== 'function' ||
    typeof engine.state?.gradientDepth !== 'number' ||
    engine.registeredVariables === undefined
  ) {
    throw new Error(
      'variableGrads: this version of @tensorflow/tfjs-core has no gradient tape where ' +
        'tfjs-core 4.x keeps it (engine.state.activeTape); use tf.variableGrads instead',
    );
  }
  return engine as EngineInternals;
}

/**
 * The nodes on a path from one of `xs` to `y`, in tape order, each with its
 * inputs cut down to those that depend on some x (the only ones needing a
 * gradient). tfjs-core's `getFilteredNodesXToY` does the same but is not part
 * of its public API: it exists only as an ES module file inside its `dist/`,
 * which this package's CommonJS build cannot require.
 */
function nodesFromXsToY(tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set(xs.map((x) => x.id));
  const reachedFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromX.has(t.id))) {
      reachedFromX.add(node.id);
      for (const o of node.outputs) fromX.add(o.id);
    }
  }
  const toY = new Set([y.id]);
  const leadsToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (node.outputs.some((o) => toY.has(o.id))) {
      leadsToY.add(node.id);
      for (const t of Object.values(node.inputs)) toY.add(t.id);
    }
  }
  return tape
    .filter((node) => reachedFromX.has(node.id) && leadsToY.has(node.id))
    .map((node) => ({
      ...node,
      inputs: Object.fromEntries(Object.entries(node.inputs).filter(([, t]) => fromX.has(t.id))),
    }));
}

/**
 * The gradients of one tape node's inputs, in the order of `names` (`Object.keys(node.inputs)`),
 * each a tensor of its own.
 */
function inputGrads(
  engine: EngineInternals,
  node: TapeNode,
  gradient: NonNullable<TapeNode['gradient']>,
  dys: (tf.Tensor | null)[],
  names: readonly string[],
): tf.Tensor[] {
  // Every tensor made from here on has an id at least this large.
  const firstNewId = engine.nextTensorId();
  return tf.tidy(() => {
    const fns = gradient(dys);
    const seen = new Set<tf.Tensor>();
    return names.map((name) => {
      const fn = fns[name];
      if (fn === undefined) {
        throw new Error(
          `variableGrads: the gradient of ${node.kernelName} has no entry for its input ` +
            `'${name}' (it has: ${Object.keys(fns).join(', ')})`,
        );
      }
      let dx = fn();
      // A gradient function may hand back a tensor it did not make (dy itself, a
      // saved tensor, a constant of its closure) or one tensor for two inputs.
      // Each map entry gets a tensor of its own, so that disposing it frees
      // nothing anyone else holds.
      if (dx.id < firstNewId || seen.has(dx)) dx = tf.clone(dx);
      seen.add(dx);
      return dx;
    });
  });
}

/** Checks each of `dxs` against its input and adds it to that input's gradient in `grads`. */
function addInputGrads(
  grads: Map<number, tf.Tensor>,
  node: TapeNode,
  names: string[],
  dxs: tf.Tensor[],
): void {
  names.forEach((name, k) => {
    const x = node.inputs[name]!;
    const dx = dxs[k]!;
    if (dx.dtype !== 'float32') {
      throw new Error(
        `variableGrads: the gradient of ${node.kernelName} for input '${name}' is ` +
          `${dx.dtype}; expected float32`,
      );
    }
    if (!tf.util.arraysEqual(dx.shape, x.shape)) {
      throw new Error(
        `variableGrads: the gradient of ${node.kernelName} for input '${name}' has shape ` +
          `[${dx.shape.join(', ')}]; expected the input's shape [${x.shape.join(', ')}]`,
      );
    }
    const previous = grads.get(x.id);
    if (previous === undefined) grads.set(x.id, dx);
    else {
      grads.set(x.id, tf.add(previous, dx));
      previous.dispose();
      dx.dispose();
    }
  });
}

/**
 * Reverse-mode pass over `nodes` that frees as it goes: once a node's input
 * gradients are computed, the gradients of the tensors it produced and the
 * tensors it saved for backward are disposed, because no earlier node can need
 * them. Returns the accumulated gradient of each of `xs` (undefined where none
 * reached it).
 *
 * A tensor can appear as the output of more than one node (a `tf.customGrad`
 * may return its input, or any existing tensor, as its value); its gradient is
 * then kept until the earliest of them, which is where tfjs-core would read it
 * last, and the accumulation order stays tfjs-core's.
 */
function backpropagate(
  engine: EngineInternals,
  nodes: TapeNode[],
  xs: tf.Tensor[],
  y: tf.Tensor,
): (tf.Tensor | undefined)[] {
  const keepIds = new Set(xs.map((x) => x.id));
  const firstProducer = new Map<number, number>();
  nodes.forEach((node, i) => {
    for (const o of node.outputs) if (!firstProducer.has(o.id)) firstProducer.set(o.id, i);
  });
  // tfjs-core seeds the pass with float32 ones whatever y's dtype.
  const grads = new Map<number, tf.Tensor>([[y.id, tf.ones(y.shape, 'float32')]]);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    const dys = node.outputs.map((o) => grads.get(o.id) ?? null);
    if (dys.every((dy) => dy === null)) continue;
    if (node.gradient === undefined) {
      throw new Error(`variableGrads: no gradient is registered for kernel ${node.kernelName}`);
    }
    const names = Object.keys(node.inputs);
    const dxs = inputGrads(engine, node, node.gradient, dys, names);
    addInputGrads(grads, node, names, dxs);
    const inputIds = new Set(names.map((name) => node.inputs[name]!.id));
    for (const o of node.outputs) {
      if (firstProducer.get(o.id) !== i || inputIds.has(o.id) || keepIds.has(o.id)) continue;
      grads.get(o.id)?.dispose();
      grads.delete(o.id);
    }
    for (const t of node.saved ?? []) t.dispose();
  }
  const result = xs.map((x) => grads.get(x.id));
  for (const [id, g] of grads) if (!keepIds.has(id)) g.dispose();
  return result;
}

/**
 * Runs `f` on the tape and backpropagates to `trainable`, returning the loss and
 * the gradients by variable name (`null` for the untrainable ones of `varList`).
 * tf.tidy's types do not admit the `null` entries of `grads`; it handles them fine.
 */
function runTaped(
  engine: EngineInternals,
  f: () => tf.Scalar,
  trainable: tf.Variable[],
  varList: tf.Variable[] | undefined,
): tf.TensorContainer {
  engine.startTape();
  try {
    let y: tf.Tensor;
    try {
      y = tf.tidy('forward', f);
    } finally {
      engine.endTape();
    }
    if (!(y instanceof tf.Tensor) || y.rank !== 0) {
      throw new Error(
        `variableGrads: f must return a scalar tensor, got ${
          y instanceof tf.Tensor ? `a rank-${y.rank} tensor` : typeof y
        }`,
      );
    }
    const tape = engine.state.activeTape ?? [];
    const grads = backpropagate(engine, nodesFromXsToY(tape, trainable, y), trainable, y);
    if (grads.every((g) => g === undefined)) {
      throw new Error(
        'variableGrads: no variable reaches the value f returns; make sure the ' +
          'operations that use the variables run inside f',
      );
    }
    const named: Record<string, tf.Tensor | null> = {};
    trainable.forEach((v, i) => {
      const g = grads[i];
      if (g !== undefined) named[v.name] = g;
    });
    if (varList !== undefined) for (const v of varList) if (!v.trainable) named[v.name] = null;
    return { value: y as tf.Scalar, grads: named } as unknown as tf.TensorContainer;
  } finally {
    // Also when f or a gradient threw: what the tape saved is freed and the tape
    // dropped, so the engine is as before the call.
    for (const node of engine.state.activeTape ?? []) {
      for (const t of node.saved ?? []) t.dispose();
    }
    engine.state.activeTape = null;
  }
}

/**
 * Gradients of the scalar `f()` with respect to trainable variables, like
 * `tf.variableGrads`, with the memory profile of PyTorch's autograd rather than
 * tfjs-core's: each intermediate gradient, and each tensor a kernel saved for its
 * backward pass, is freed as soon as the backward pass has no further use for it.
 *
 * `tf.variableGrads` keeps every intermediate gradient and every saved tensor
 * until the whole backward pass ends, so its peak is about the forward
 * activations plus all of their gradients. Here the peak is about the forward
 * activations, and it falls as the pass walks back to the input. The results are
 * bitwise identical: the same gradient functions run in the same order and
 * accumulate in the same order.
 *
 * Inside another gradient computation (higher-order gradients, `gradientDepth`
 * above 0) this defers to `tf.variableGrads`, which must keep the tape.
 *
 * @param f - A function returning a scalar loss; its kernels are recorded on the tape.
 * @param varList - Variables to differentiate. Defaults to every trainable variable
 *   registered with the engine, as in `tf.variableGrads`.
 * @returns The loss and a gradient per variable name; the caller disposes both.
 * @throws Error if `f` does not return a scalar, if no trainable variable is given,
 *   if no variable reaches the loss, or if a kernel on the path has no gradient.
 *   The tape is cleared and every intermediate disposed before the error leaves.
 *
 * @example
 * ```ts
 * const { value, grads } = variableGrads(() =>
 *   tf.losses.softmaxCrossEntropy(labels, model.apply(images, { training: true }) as tf.Tensor),
 * );
 * optimizer.applyGradients(grads as Record<string, tf.Tensor>);
 * tf.dispose([value, ...Object.values(grads)]);
 * ```
 */
export function variableGrads(f: () => tf.Scalar, varList?: tf.Variable[]): VariableGradsResult {
  if (typeof f !== 'function') {
    throw new Error(`variableGrads: f must be a function returning a scalar, got ${typeof f}`);
  }
  if (
    varList !== undefined &&
    !(Array.isArray(varList) && varList.every((v) => v instanceof tf.Variable))
  ) {
    throw new Error('variableGrads: varList must be an array of tf.Variable');
  }
  const engine = engineInternals();
  if (engine.state.gradientDepth > 0) return tf.variableGrads(f, varList);

  const all = varList ?? Object.values(engine.registeredVariables);
  const trainable = all.filter((v) => v.trainable);
  if (trainable.length === 0) {
    throw new Error(
      `variableGrads: none of the ${all.length} variables is trainable; expected at least one`,
    );
  }
  return tf.tidy(() => runTaped(engine, f, trainable, varList)) as unknown as VariableGradsResult;
}
