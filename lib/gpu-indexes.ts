// The GPU index classes of Python faiss, with the same constructor arguments and
// config objects (camelCase). Each is an Index living on the config's device
// (default 0), built on the given StandardGpuResources. A CPU index is copied to a
// GPU with indexCpuToGpu (lib/gpu.ts). In the CPU build each is ERR_UNSUPPORTED.
import { METRIC_INNER_PRODUCT, METRIC_L2, type MetricType, type QuantizerType } from './constants';
import { Index } from './faiss-index';
import { gpuAddon } from './gpu-native';
import {
  gpuConfig,
  type GpuIndexFlatConfig,
  type GpuIndexIVFFlatConfig,
  type GpuIndexIVFPQConfig,
  type GpuIndexIVFScalarQuantizerConfig,
} from './gpu-options';
import { StandardGpuResources } from './gpu-resources';
import { invalidParameterError } from './is';
import { dimensionArg as dimension, metricArg as metric, nlistArg, pqMArg, qtypeArg } from './limits';

/** FAISS's GPU product quantizer takes codes of 8 bits or fewer. */
function gpuNbitsArg(v: unknown): number {
  if (!Number.isSafeInteger(v) || (v as number) < 1 || (v as number) > 8) throw invalidParameterError('nbits', 'an integer between 1 and 8', v);
  return v as number;
}

/** Brute-force search on a GPU; L2 or inner product. */
export class GpuIndexFlat extends Index {
  constructor(res: StandardGpuResources, d: number, metricType: MetricType = METRIC_L2, config?: GpuIndexFlatConfig) {
    const gpu = gpuAddon('GpuIndexFlat');
    super(
      gpu.newGpuIndexFlat(StandardGpuResources.nativeOf(res, 'res'), dimension(d), metric(metricType), gpuConfig(config, ['useFloat16', 'storeTransposed'], false)),
    );
  }
}

export class GpuIndexFlatL2 extends GpuIndexFlat {
  constructor(res: StandardGpuResources, d: number, config?: GpuIndexFlatConfig) {
    super(res, d, METRIC_L2, config);
  }
}

export class GpuIndexFlatIP extends GpuIndexFlat {
  constructor(res: StandardGpuResources, d: number, config?: GpuIndexFlatConfig) {
    super(res, d, METRIC_INNER_PRODUCT, config);
  }
}

export class GpuIndexIVFFlat extends Index {
  constructor(res: StandardGpuResources, d: number, nlist: number, metricType: MetricType = METRIC_L2, config?: GpuIndexIVFFlatConfig) {
    const gpu = gpuAddon('GpuIndexIVFFlat');
    super(
      gpu.newGpuIndexIVFFlat(
        StandardGpuResources.nativeOf(res, 'res'),
        dimension(d),
        nlistArg(nlist),
        metric(metricType),
        gpuConfig(config, ['interleavedLayout'], true),
      ),
    );
  }
}

export class GpuIndexIVFPQ extends Index {
  constructor(
    res: StandardGpuResources,
    d: number,
    nlist: number,
    m: number,
    nbits: number,
    metricType: MetricType = METRIC_L2,
    config?: GpuIndexIVFPQConfig,
  ) {
    const gpu = gpuAddon('GpuIndexIVFPQ');
    super(
      gpu.newGpuIndexIVFPQ(
        StandardGpuResources.nativeOf(res, 'res'),
        dimension(d),
        nlistArg(nlist),
        pqMArg(m, 'm'),
        gpuNbitsArg(nbits),
        metric(metricType),
        gpuConfig(config, ['useFloat16LookupTables', 'usePrecomputedTables', 'interleavedLayout', 'useMMCodeDistance'], true),
      ),
    );
  }
}

export class GpuIndexIVFScalarQuantizer extends Index {
  constructor(
    res: StandardGpuResources,
    d: number,
    nlist: number,
    qtype: QuantizerType,
    metricType: MetricType = METRIC_L2,
    encodeResidual = true,
    config?: GpuIndexIVFScalarQuantizerConfig,
  ) {
    const gpu = gpuAddon('GpuIndexIVFScalarQuantizer');
    if (typeof encodeResidual !== 'boolean') throw invalidParameterError('encodeResidual', 'a boolean', encodeResidual);
    super(
      gpu.newGpuIndexIVFScalarQuantizer(
        StandardGpuResources.nativeOf(res, 'res'),
        dimension(d),
        nlistArg(nlist),
        qtypeArg(qtype),
        metric(metricType),
        encodeResidual,
        gpuConfig(config, ['interleavedLayout'], true),
      ),
    );
  }
}
