const bridges = new WeakMap<object, WeakMap<object, object>>();

/**
 * A prototype holding the methods of `ownClass` with `basePrototype` above them, so that an object given it
 * passes `instanceof` checks of the base class (tfjs' `tf.Callback`) without this package importing the
 * library that defines it. Made once per pair. For mlflow-kit's adapter packages.
 *
 * @example
 * ```ts
 * Object.setPrototypeOf(callback, bridgePrototype(tf.Callback.prototype, MyCallback));
 * ```
 */
export function bridgePrototype(
  basePrototype: object,
  ownClass: abstract new (...args: never[]) => unknown,
): object {
  let byBase = bridges.get(ownClass);
  if (!byBase) {
    byBase = new WeakMap();
    bridges.set(ownClass, byBase);
  }
  let bridge = byBase.get(basePrototype);
  if (!bridge) {
    bridge = Object.create(basePrototype) as object;
    Object.defineProperties(bridge, Object.getOwnPropertyDescriptors(ownClass.prototype));
    byBase.set(basePrototype, bridge);
  }
  return bridge;
}
