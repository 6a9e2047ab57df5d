// The option objects of the GPU API, Python faiss's in camelCase: GpuClonerOptions
// and the config objects of the GPU index classes, checked field by field.
import { FaissError } from './errors';
import { integerIn, invalidParameterError, isObject, readArgument } from './is';

/** The largest device number taken anywhere (CUDA numbers devices from 0). */
const MAX_DEVICE = 1024;

/** Python faiss's GpuClonerOptions, camelCase. */
export interface GpuClonerOptions {
  /** Store vectors (flat, IVFFlat) in float16. */
  useFloat16?: boolean;
  /** Store an IVF's coarse quantizer in float16. */
  useFloat16CoarseQuantizer?: boolean;
  /** IVFPQ: precomputed tables. */
  usePrecomputed?: boolean;
  /** Vectors to reserve room for in the inverted lists. */
  reserveVecs?: number;
  /** GpuIndexFlat: also keep the vectors transposed. */
  storeTransposed?: boolean;
}

/** GpuMultipleClonerOptions: one copy of the index per GPU (replicas), or a shard each with `shard`. */
export interface GpuMultipleClonerOptions extends GpuClonerOptions {
  shard?: boolean;
}

const CLONER_BOOLEANS = ['useFloat16', 'useFloat16CoarseQuantizer', 'usePrecomputed', 'storeTransposed'] as const;

type OptionValue = boolean | number | { [key: string]: OptionValue };

/**
 * An options object of plain fields: each read once, inside readArgument; an
 * unknown field (a misspelt one) is ERR_INVALID_ARGUMENT rather than ignored.
 * `nested` names fields that are objects of booleans themselves (an IVF config's flatConfig).
 */
export function plainOptions(
  v: unknown,
  name: string,
  booleans: readonly string[],
  integers: Readonly<Record<string, readonly [number, number]>> = {},
  nested: Readonly<Record<string, readonly string[]>> = {},
): Record<string, OptionValue> {
  if (v === undefined) return {};
  return readArgument(name, () => {
    if (!isObject(v)) throw invalidParameterError(name, 'an object', v);
    const out: Record<string, OptionValue> = {};
    for (const key of Object.keys(v)) {
      const value = v[key];
      if (value === undefined) continue;
      if (booleans.includes(key)) {
        if (typeof value !== 'boolean') throw invalidParameterError(`${name}.${key}`, 'a boolean', value);
        out[key] = value;
      } else if (Object.hasOwn(integers, key)) {
        const [min, max] = integers[key];
        out[key] = integerIn(value, `${name}.${key}`, min, max);
      } else if (Object.hasOwn(nested, key)) {
        out[key] = plainOptions(value, `${name}.${key}`, nested[key]);
      } else {
        const known = [...booleans, ...Object.keys(integers), ...Object.keys(nested)].join(', ');
        throw new FaissError(`Unknown field "${key}" in ${name}: expected ${known}`, 'ERR_INVALID_ARGUMENT');
      }
    }
    return out;
  });
}

export const clonerOptions = (v: unknown, extra: readonly string[] = []): Record<string, OptionValue> =>
  plainOptions(v, 'options', [...CLONER_BOOLEANS, ...extra], { reserveVecs: [0, 2 ** 40] });

export const deviceArg = (device: unknown, name = 'device'): number => integerIn(device, name, 0, MAX_DEVICE);

/** Every GPU index's config: the device it lives on (default 0). */
export interface GpuIndexConfig {
  device?: number;
}

/** GpuIndexFlatConfig: vectors stored in float16 with `useFloat16`. */
export interface GpuIndexFlatConfig extends GpuIndexConfig {
  useFloat16?: boolean;
  storeTransposed?: boolean;
}

/** The IVF configs' shared part: `flatConfig.useFloat16` stores the coarse centroids in float16. */
export interface GpuIndexIVFConfig extends GpuIndexConfig {
  flatConfig?: { useFloat16?: boolean };
}

export interface GpuIndexIVFFlatConfig extends GpuIndexIVFConfig {
  interleavedLayout?: boolean;
}

export interface GpuIndexIVFPQConfig extends GpuIndexIVFConfig {
  useFloat16LookupTables?: boolean;
  usePrecomputedTables?: boolean;
  interleavedLayout?: boolean;
  useMMCodeDistance?: boolean;
}

export interface GpuIndexIVFScalarQuantizerConfig extends GpuIndexIVFConfig {
  interleavedLayout?: boolean;
}

/** A GPU index config with the `booleans` of its kind, `device` and (IVF) `flatConfig`. */
export function gpuConfig(v: unknown, booleans: readonly string[], ivf: boolean): Record<string, OptionValue> {
  return plainOptions(v, 'config', booleans, { device: [0, MAX_DEVICE] }, ivf ? { flatConfig: ['useFloat16'] } : {});
}
