// The steps that turn one view into several: ten-crop and multi-scale views.
import {
  cloneGeometry,
  cropGeometry,
  flipGeometry,
  resizeGeometry,
  type ViewGeometry,
} from './geometry';
import { checkFits, roundHalfEven, shorterSideSize, step, unknownSize } from './transform-steps';
import type { TransformStep } from './transforms';
import {
  checkBoolean,
  checkOptions,
  checkPositiveInt,
  checkSize,
  fail,
  withDefault,
  type OptionSpec,
} from '@convnets/validate';

/**
 * Ten views: the four corner crops and the centre crop, then the same five
 * of the mirrored image (torchvision's `TenCrop` order: top-left, top-right,
 * bottom-left, bottom-right, centre, then flipped). AlexNet §4.1, ResNet §3.4.
 *
 * @example
 * ```ts
 * const tta = compose([resizeShorterSide(256), tenCropViews(224)]); // tta.views === 10
 * ```
 * @param size - The crop size: one integer for a square, or `[height, width]`.
 * @returns The step; each input view becomes 10.
 * @throws Error when `size` is not a positive integer or a pair of them.
 *   Applying the step throws when the image is smaller than `size`.
 * @see [Krizhevsky et al. 2012, "ImageNet Classification with Deep Convolutional Neural Networks", §4.1](https://papers.nips.cc/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b-Abstract.html)
 * @see [He et al. 2015, "Deep Residual Learning for Image Recognition", §3.4](https://arxiv.org/abs/1512.03385)
 */
export function tenCropViews(size: number | readonly [number, number]): TransformStep {
  const where = 'tenCropViews';
  const [h, w] = checkSize(where, 'size', size);
  return step(
    `tenCropViews(${h}×${w})`,
    false,
    () => [h, w],
    (g) => {
      checkFits(where, g, h, w);
      const views: ViewGeometry[] = [];
      for (const flipped of [false, true]) {
        const W = g.width;
        const H = g.height;
        const corners: [number, number][] = [
          [0, 0],
          [W - w, 0],
          [0, H - h],
          [W - w, H - h],
          [roundHalfEven((W - w) / 2), roundHalfEven((H - h) / 2)],
        ];
        for (const [left, top] of corners) {
          const view = cloneGeometry(g);
          if (flipped) flipGeometry(view);
          cropGeometry(view, { left, top, width: w, height: h });
          views.push(view);
        }
      }
      return views;
    },
    10,
  );
}

/** The options of {@link multiScaleViews}. */
const MULTI_SCALE_SPEC = { flip: withDefault(checkBoolean, false) } satisfies OptionSpec<{
  flip?: boolean;
}>;

/**
 * One view per scale, the shorter side resized to each, for fully
 * convolutional multi-scale evaluation (VGG §3.2, ResNet §3.4: {224, 256,
 * 384, 480, 640}); optionally each with its mirror too.
 *
 * @example
 * ```ts
 * const views = multiScaleViews([224, 256, 384, 480, 640], { flip: true }); // 10 views
 * ```
 * @param scales - Shorter-side sizes, positive integers, one view each.
 * @param options - `flip`: add each view's mirror after it (default `{}`,
 *   i.e. `flip: false`).
 * @returns The step; each input view becomes `scales.length` views (twice
 *   that with `flip`), of sizes that vary per image.
 * @throws Error when `scales` is empty or holds a value that is not a
 *   positive integer, or when `flip` is not a boolean or an option is unknown.
 * @see [Simonyan & Zisserman 2014, "Very Deep Convolutional Networks for Large-Scale Image Recognition", §3.2](https://arxiv.org/abs/1409.1556)
 * @see [He et al. 2015, "Deep Residual Learning for Image Recognition", §3.4](https://arxiv.org/abs/1512.03385)
 */
export function multiScaleViews(
  scales: readonly number[],
  options: { flip?: boolean } = {},
): TransformStep {
  const where = 'multiScaleViews';
  if (!Array.isArray(scales) || scales.length === 0)
    fail(where, 'scales', scales, 'a non-empty array of sizes');
  scales.forEach((s) => checkPositiveInt(where, 'scales', s));
  const { flip } = checkOptions(where, options, MULTI_SCALE_SPEC);
  return step(
    `multiScaleViews(${scales.join(', ')}${flip ? ', flip' : ''})`,
    false,
    unknownSize,
    (g) =>
      scales.flatMap((s) => {
        const view = cloneGeometry(g);
        resizeGeometry(view, ...shorterSideSize(g.width, g.height, s));
        if (!flip) return [view];
        const mirrored = cloneGeometry(view);
        flipGeometry(mirrored);
        return [view, mirrored];
      }),
    scales.length * (flip ? 2 : 1),
  );
}
