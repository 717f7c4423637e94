import {
  readSafetensors,
  readStateDict,
  writeSafetensors,
  type Float32Entry,
} from '@convnets/layers';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cifarResNet, loadWeights, resnet18, saveWeights } from '../src';
import { formulaStateDict, readFixture } from '../../../test-utils/torch-fixture.ts';

const fixture = readFixture(new URL('../fixtures/torchvision/resnet18.json', import.meta.url));
/** resnet18 at 32×32 with random weights: what a user saves. */
const small = () => resnet18({ inputShape: [32, 32, 3] });
/**
 * The same with zero weights (skipInit, no random draw): a target to load
 * into. Every loaded tensor of the formula differs from zero, so a weight that
 * is (or is not) loaded shows as plainly as over random weights.
 */
const target = () => resnet18({ inputShape: [32, 32, 3], skipInit: true });
/** The fixture's state dict, computed once (11.7M formula values); each call gets its own copy. */
const formulaBytes = formulaStateDict(fixture);
const stateDict = () => formulaBytes.slice();
/** Every weight's bytes, concatenated (compared with Buffer.equals: deep equality of millions of numbers is slow). */
const snapshot = (net: LayersModel) =>
  Buffer.concat(net.weights.map((w) => Buffer.from((w.read().dataSync() as Float32Array).buffer)));

/** The fixture's torchvision state dict with some entries changed. */
function edited(change: (entries: Map<string, Float32Entry>) => void): Uint8Array {
  const { tensors } = readSafetensors(stateDict());
  const entries = new Map<string, Float32Entry>();
  for (const [name, t] of tensors) {
    entries.set(name, { shape: t.shape, data: new Float32Array(t.bytes.slice().buffer) });
  }
  change(entries);
  return writeSafetensors(entries);
}

describe('torchvision weight import', () => {
  it('accepts every key of torchvision resnet18 (the fixture lists them all)', async () => {
    const net = target();
    await loadWeights(net, stateDict(), { from: 'torchvision' });
    // conv1.weight[o=1, i=2, y=3, x=4] lands at kernel[3, 4, 2, 1] (OIHW → HWIO).
    const { tensors } = readSafetensors(stateDict());
    const torchConv1 = new Float32Array(tensors.get('conv1.weight')!.bytes.slice().buffer);
    const ours = net.getLayer('conv1_conv').getWeights()[0].arraySync() as number[][][][];
    expect(ours[3][4][2][1]).toBe(torchConv1[((1 * 3 + 2) * 7 + 3) * 7 + 4]);
    // fc.weight[k=5, j=6] lands at kernel[6, 5] ([out, in] → [in, out]).
    const torchFc = new Float32Array(tensors.get('fc.weight')!.bytes.slice().buffer);
    const fc = net.getLayer('predictions').getWeights()[0].arraySync() as number[][];
    expect(fc[6][5]).toBe(torchFc[5 * 512 + 6]);
    net.dispose();
  });

  it('round-trips through saveWeights → loadWeights with identical predictions, via a file', async () => {
    const a = small();
    const b = target();
    const dir = mkdtempSync(join(tmpdir(), 'convnets-weights-'));
    const path = join(dir, 'resnet18.safetensors');
    const bytes = await saveWeights(a, path);
    expect(readFileSync(path).equals(Buffer.from(bytes))).toBe(true);
    // The file uses torchvision's names and layouts.
    const keys = [...readSafetensors(bytes).tensors.keys()].sort();
    expect(keys).toEqual(fixture.parameters.map(([k]) => k).sort());
    await loadWeights(b, path, { from: 'torchvision' });
    const x = tf.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 9);
    const pa = a.predict(x) as tf.Tensor;
    const pb = b.predict(x) as tf.Tensor;
    expect(Array.from(pb.dataSync())).toEqual(Array.from(pa.dataSync()));
    expect(snapshot(b).equals(snapshot(a))).toBe(true);
    tf.dispose([x, pa, pb]);
    a.dispose();
    b.dispose();
    rmSync(dir, { recursive: true });
  });

  it('round-trips through a .pth file (torch.save format) with identical predictions', async () => {
    const a = small();
    const b = target();
    const dir = mkdtempSync(join(tmpdir(), 'convnets-weights-'));
    const path = join(dir, 'resnet18.pth');
    const bytes = await saveWeights(a, path);
    const { format, tensors } = readStateDict(bytes);
    expect(format).toBe('torch-zip');
    expect([...tensors.keys()].sort()).toEqual(fixture.parameters.map(([k]) => k).sort());
    await loadWeights(b, path, { from: 'torchvision' });
    expect(snapshot(b).equals(snapshot(a))).toBe(true);
    const x = tf.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 9);
    const pa = a.predict(x) as tf.Tensor;
    const pb = b.predict(x) as tf.Tensor;
    expect(Array.from(pb.dataSync())).toEqual(Array.from(pa.dataSync()));
    tf.dispose([x, pa, pb]);
    a.dispose();
    b.dispose();
    rmSync(dir, { recursive: true });
  });

  it('reports every mismatch in one error and loads nothing', async () => {
    const net = target();
    const before = snapshot(net);
    const bad = edited((e) => {
      e.delete('layer2.0.downsample.0.weight');
      e.delete('bn1.running_var');
      e.set('layer5.0.conv1.weight', { shape: [1], data: new Float32Array(1) });
      e.set('fc.weight', { shape: [10, 512], data: new Float32Array(5120) });
    });
    const error = await loadWeights(net, bad, { from: 'torchvision' }).then(
      () => null,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(
      /Cannot load torchvision ResNet weights into model "resnet18" \(nothing was loaded\)/,
    );
    expect(error?.message).toMatch(
      /missing key "layer2\.0\.downsample\.0\.weight" \(for conv3_block1_0_conv\/kernel\)/,
    );
    expect(error?.message).toMatch(
      /missing key "bn1\.running_var" \(for conv1_bn\/moving_variance\)/,
    );
    expect(error?.message).toMatch(/unexpected key "layer5\.0\.conv1\.weight"/);
    expect(error?.message).toMatch(/"fc\.weight" has shape \[10, 512\], expected \[1000, 512\]/);
    expect(snapshot(net).equals(before)).toBe(true);
    net.dispose();
  });

  it('rejects integer tensors where floats belong, and ignores num_batches_tracked', async () => {
    const net = target();
    const bytes = stateDict();
    // Rewrite one dtype in the header, in place: I32 has the same width as F32.
    const patched = Buffer.from(bytes);
    const at = patched.indexOf('"bn1.bias":{"dtype":"F32"');
    expect(at).toBeGreaterThan(0);
    patched.write('I', at + '"bn1.bias":{"dtype":"'.length);
    await expect(loadWeights(net, patched, { from: 'torchvision' })).rejects.toThrow(
      /"bn1\.bias" has dtype I32; expected F32, F16, BF16 or F64/,
    );
    const withCounter = edited((e) =>
      e.set('bn1.num_batches_tracked', { shape: [], data: new Float32Array([7]) }),
    );
    await expect(loadWeights(net, withCounter, { from: 'torchvision' })).resolves.toEqual({
      nonFinite: [],
      missing: [],
      unexpected: [],
      mismatched: [],
      skipped: [],
    });
    // NaN and Inf load (as PyTorch's load_state_dict) but are reported, by tensor.
    const poisoned = edited((e) => {
      e.get('fc.bias')!.data[3] = NaN;
      e.get('bn1.running_var')!.data[0] = -Infinity;
    });
    const warnings: string[] = [];
    const report = await loadWeights(net, poisoned, {
      from: 'torchvision',
      onWarning: (w) => warnings.push(w.message),
    });
    expect(report.nonFinite.map((t) => [t.key, t.nan, t.infinite]).sort()).toEqual([
      ['bn1.running_var', 0, 1],
      ['fc.bias', 1, 0],
    ]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/"fc\.bias"[\s\S]*1 NaN/);
    net.dispose();
  });

  it('says what is wrong with the source and the options', async () => {
    const net = cifarResNet(8, { inputShape: [8, 8, 3] });
    await expect(loadWeights(net, 42 as never, { from: 'torchvision' })).rejects.toThrow(
      /the source must be a file path, a Uint8Array or an ArrayBuffer; received 42/,
    );
    await expect(loadWeights(net, new Uint8Array(8), { from: 'keras' as never })).rejects.toThrow(
      /option "from" must be one of "torchvision", "cifar"; received "keras"/,
    );
    net.dispose();
  });
});
