import { layers, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { convBnRelu, basicBlock, summarize } from '../src';
import { wrap } from './helpers';

function small() {
  return wrap(
    [8, 8, 3],
    (x) => {
      let y = convBnRelu(x, { name: 'conv1', filters: 4 });
      y = basicBlock(y, { name: 'b', filters: 8, stride: 2 });
      y = layers.globalAveragePooling2d({ name: 'pool' }).apply(y) as SymbolicTensor;
      return layers.dense({ units: 10, name: 'fc' }).apply(y) as SymbolicTensor;
    },
    'small',
  );
}

describe('summarize', () => {
  it('counts parameters and multiply-adds as worked out by hand', () => {
    const s = summarize(small());
    // conv1: 3·3·3·4 weights at 8·8 positions; b_1: 3·3·4·8 at 4·4; b_2: 3·3·8·8 at 4·4;
    // projection b_0: 1·1·4·8 at 4·4; fc: 8·10 (its bias is not a multiply-add).
    const macs = 108 * 64 + 288 * 16 + 576 * 16 + 32 * 16 + 80;
    expect(s.multiplyAdds).toBe(macs);
    expect(s.trainableParams).toBe(108 + 288 + 576 + 32 + (8 + 16 + 16 + 16) + (80 + 10));
    expect(s.nonTrainableParams).toBe(8 + 16 + 16 + 16);
    expect(s.totalParams).toBe(s.trainableParams + s.nonTrainableParams);
    const conv1 = s.layers.find((l) => l.name === 'conv1_conv')!;
    expect(conv1).toMatchObject({
      className: 'Conv2D',
      outputShape: [null, 8, 8, 4],
      trainableParams: 108,
      multiplyAdds: 6912,
    });
    expect(s.layers.find((l) => l.name === 'conv1_bn')).toMatchObject({
      trainableParams: 8,
      nonTrainableParams: 8,
      multiplyAdds: 0,
    });
  });

  it('renders a table and JSON with the same totals', () => {
    const s = summarize(small());
    const table = s.toTable();
    expect(table).toContain('Model: small');
    expect(table).toContain('conv1_conv (Conv2D)');
    expect(table).toContain('[?, 8, 8, 4]');
    expect(table).toContain(`Trainable params:     ${s.trainableParams.toLocaleString('en-US')}`);
    expect(table).toContain(
      `Multiply-adds:        ${s.multiplyAdds.toLocaleString('en-US')} per example`,
    );
    const json = JSON.parse(JSON.stringify(s));
    expect(json).toMatchObject({
      name: 'small',
      trainableParams: s.trainableParams,
      multiplyAdds: s.multiplyAdds,
    });
    expect(json.layers).toHaveLength(s.layers.length);
  });

  it('can leave out parameter-free rows without changing the totals', () => {
    const all = summarize(small());
    const some = summarize(small(), { skipParameterFree: true });
    expect(some.layers.length).toBeLessThan(all.layers.length);
    expect(some.layers.some((l) => l.className === 'Activation')).toBe(false);
    expect(some.multiplyAdds).toBe(all.multiplyAdds);
    expect(some.trainableParams).toBe(all.trainableParams);
  });

  it('counts frozen layers as non-trainable', () => {
    const m = small();
    m.getLayer('fc').trainable = false;
    const s = summarize(m);
    expect(s.nonTrainableParams).toBe(8 + 16 + 16 + 16 + 90);
  });

  it('rejects unknown options', () => {
    expect(() => summarize(small(), { verbose: true } as never)).toThrow(
      /unknown option "verbose"/,
    );
  });
});
