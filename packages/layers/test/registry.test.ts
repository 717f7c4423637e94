import { describe, expect, it } from 'vitest';
import {
  bottleneckBlock,
  convBn,
  layerSeed,
  modelRegistry,
  pretrainedWeights,
  torchHubHashPrefix,
  torchvisionWeights,
  type ModelEntry,
} from '../src';
import { wrap } from './helpers';

/** A stand-in entry: the registry only stores and looks up entries. */
const fake = (name: string) => ({ name }) as unknown as ModelEntry;

describe('modelRegistry', () => {
  const registry = modelRegistry(
    { models: { a_net: fake('a_net'), b_net: fake('b_net') }, aliases: { 'a-net': 'a_net' } },
    { models: { c_net: fake('c_net') } },
  );

  it('finds models by canonical name or alias, across tables, in table order', () => {
    expect(registry.names).toEqual(['a_net', 'b_net', 'c_net']);
    expect(registry.get('a-net')).toBe(registry.models.a_net);
    expect(registry.get('c_net').name).toBe('c_net');
    expect(registry.find('toString')).toBeUndefined();
  });

  it('names an unknown model and lists the known ones', () => {
    expect(() => registry.get('d_net')).toThrow(
      'unknown model "d_net"; expected one of a_net, b_net, c_net.',
    );
  });

  it('refuses a name defined twice, an alias shadowing a name, and a dangling alias', () => {
    expect(() => modelRegistry({ models: { a: fake('a') } }, { models: { a: fake('a') } })).toThrow(
      /model "a" is defined twice/,
    );
    expect(() =>
      modelRegistry({ models: { a: fake('a'), b: fake('b') }, aliases: { a: 'b' } }),
    ).toThrow(/alias "a" → "b" shadows a model name/);
    expect(() => modelRegistry({ models: { a: fake('a') }, aliases: { x: 'y' } })).toThrow(
      /alias "x" → "y" names no model/,
    );
  });
});

describe('seeded units', () => {
  const kernelOf = (seed: number | undefined, name = 'u') => {
    const net = wrap([4, 4, 3], (x) => convBn(x, { name, filters: 4, seed }));
    const k = Array.from(net.getLayer(`${name}_conv`).getWeights()[0].dataSync());
    net.dispose();
    return k;
  };

  it('convBn draws the same kernel for the same seed and name, another for another seed or name', () => {
    expect(kernelOf(3)).toEqual(kernelOf(3));
    expect(kernelOf(3)).not.toEqual(kernelOf(4));
    expect(kernelOf(3)).not.toEqual(kernelOf(3, 'v'));
    expect(kernelOf(undefined)).not.toEqual(kernelOf(undefined));
  });

  it('layerSeed is never 0 (tfjs reads 0 as "unseeded") and depends on seed and name', () => {
    const seeds = [0, 1, 2].flatMap((s) => ['a', 'b'].map((n) => layerSeed(s, n)));
    expect(new Set(seeds).size).toBe(6);
    expect(seeds.every((s) => Number.isInteger(s) && s > 0 && s < 2 ** 32)).toBe(true);
  });

  it('rejects a seed that is not a non-negative integer', () => {
    expect(() => kernelOf(-1)).toThrow(/option "seed" must be a non-negative integer; received -1/);
  });
});

describe('bottleneck width', () => {
  it("widens the 1×1 and 3×3 convolutions and keeps 4 × filters out (torchvision's width_per_group)", () => {
    const net = wrap([8, 8, 256], (x) =>
      bottleneckBlock(x, { name: 'b', filters: 64, width: 128, kernelInitializer: 'zeros' }),
    );
    expect(
      ['b_1_conv', 'b_2_conv', 'b_3_conv'].map((l) => net.getLayer(l).getConfig().filters),
    ).toEqual([128, 128, 256]);
    net.dispose();
  });
});

describe('pretrained weights helpers', () => {
  it.each([
    ['https://download.pytorch.org/models/resnet50-11ad3fa6.pth', '11ad3fa6'],
    // torch.hub's HASH_REGEX finds the hash after the last dash here too.
    ['https://download.pytorch.org/models/vgg16_features-amdegroot-88682ab5.pth', '88682ab5'],
    ['/cache/net-0123456789abcdef0123.safetensors', '0123456789abcdef0123'],
    ['https://example.com/model.safetensors', undefined],
    ['https://example.com/resnet-2023.pth', undefined], // 4 digits: no hash
    ['https://example.com/net-11AD3FA6.pth', undefined], // torch.hub's hashes are lowercase
  ])('torchHubHashPrefix(%s) is %s', (name, hash) => {
    expect(torchHubHashPrefix(name)).toBe(hash);
  });

  it('builds entries from file names, and refuses a name without a hash or an unknown default', () => {
    const { weights, defaultWeights } = torchvisionWeights(
      7,
      {
        V1: { file: 'net-0a1b2c3d.pth', acc: [1, 2] },
        V2: { file: 'net-ffffffff.pth', acc: [3, 4], resizeSize: 232 },
      },
      'V2',
    );
    expect(defaultWeights).toBe('V2');
    expect(weights.V1).toEqual({
      name: 'V1',
      url: 'https://download.pytorch.org/models/net-0a1b2c3d.pth',
      sha256: '0a1b2c3d',
      categories: 'imagenet1k',
      transforms: {
        resizeSize: 256,
        cropSize: 224,
        interpolation: 'bilinear',
        normalization: 'imagenet',
      },
      numParams: 7,
      metrics: { acc1: 1, acc5: 2 },
    });
    expect(weights.V2.transforms.resizeSize).toBe(232);
    expect(Object.isFrozen(weights) && Object.isFrozen(weights.V1)).toBe(true);
    expect(() => torchvisionWeights(1, { V1: { file: 'net.pth', acc: [0, 0] } }, 'V1')).toThrow(
      'torchvisionWeights: file "net.pth" has no "-<hex>." hash in its name.',
    );
    expect(() =>
      torchvisionWeights(1, { V1: { file: 'net-0a1b2c3d.pth', acc: [0, 0] } }, 'V2'),
    ).toThrow('torchvisionWeights: the default "V2" is not one of the names.');
  });

  it("resolves DEFAULT, and lists the model's weights for an unknown name", () => {
    const entry = {
      name: 'net',
      ...torchvisionWeights(1, { V1: { file: 'n-0a1b2c3d.pth', acc: [0, 0] } }, 'V1'),
    };
    expect(pretrainedWeights(entry, 'DEFAULT')).toBe(entry.weights.V1);
    expect(pretrainedWeights(entry, 'V1')).toBe(entry.weights.V1);
    expect(() => pretrainedWeights(entry, 'v1')).toThrow(
      'net has no weights "v1"; expected one of V1, DEFAULT.',
    );
    expect(() => pretrainedWeights(entry, 'toString')).toThrow(/no weights "toString"/);
  });
});
