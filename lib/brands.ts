// Brand checks: whether a value is a genuine typed array or ArrayBuffer, read
// from its internal slots, as node:util's types.* do, but in any JavaScript
// runtime (the remote client also runs where there is no Node). instanceof is
// not one: a Proxy of a Uint8Array, or an object made from Uint8Array.prototype,
// passes it and then fails (or lies) where its bytes are read.

// %TypedArray%.prototype[Symbol.toStringTag] is a getter that answers the array's
// [[TypedArrayName]], and undefined for anything without that slot.
const typedArrayName = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag)!.get!;
// ArrayBuffer.prototype.byteLength throws for anything but an ArrayBuffer (a SharedArrayBuffer included).
const arrayBufferByteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength')!.get!;

const isTypedArray = (v: unknown, name: string): boolean => ArrayBuffer.isView(v) && typedArrayName.call(v) === name;

export const isUint8Array = (v: unknown): v is Uint8Array => isTypedArray(v, 'Uint8Array');
export const isFloat32Array = (v: unknown): v is Float32Array => isTypedArray(v, 'Float32Array');
export const isBigInt64Array = (v: unknown): v is BigInt64Array => isTypedArray(v, 'BigInt64Array');

export function isArrayBuffer(v: unknown): v is ArrayBuffer {
  if (typeof v !== 'object' || v === null) return false;
  try {
    arrayBufferByteLength.call(v);
    return true;
  } catch {
    return false;
  }
}
