import { describe, expect, it } from 'vitest';
import { importHub } from '../src/with-weights';

describe('withWeights without @convnets/hub', () => {
  it('names the package to install', async () => {
    await expect(importHub('resnet50', '@convnets/not-installed')).rejects.toThrow(
      'resnet50: option "weights" needs the package @convnets/not-installed (Node only), which is not installed; install it with `npm install @convnets/not-installed`.',
    );
  });
});
