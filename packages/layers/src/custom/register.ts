import { serialization } from '@tensorflow/tfjs-core';

type SerializableClass = Parameters<typeof serialization.registerClass>[0];

/**
 * Registers a custom layer for deserialisation once. When both the ESM and the
 * CJS build of this package are loaded in one process, the second load finds
 * the class name taken and leaves the first registration in place, so a model
 * saved by either build reloads with either.
 */
export function registerLayerOnce(cls: SerializableClass): void {
  const registered = serialization.SerializationMap.getMap().classNameMap;
  if (!(cls.className in registered)) serialization.registerClass(cls);
}
