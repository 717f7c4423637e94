/**
 * `@convnets/imagenet-data`: this package is a skeleton; its content arrives in a later release.
 *
 * @packageDocumentation
 */

/** The package's name, as published on npm. */
export const packageName = '@convnets/imagenet-data';
