/**
 * Every environment variable the workbench reads, read here and nowhere else: the stages below the pipeline layer
 * take options, and the pipeline and the CLI fill those options from the environment.
 */

/** The variables, by the name the code uses. */
export const ENV_VARS = {
  /** The workspace folder (sample archive, database, previews); default `<project>/data`. */
  data: 'FLUX_DATA',
  /** JSON sample options overriding the defaults, e.g. {"sessions":8} (tests use a smaller sample). */
  sample: 'FLUX_SAMPLE',
  /** The folder keeper models are written to and read from; default `<project>/models`. */
  models: 'FLUX_MODELS',
  /** The TensorFlow.js backend to train on: tensorflow (tfjs-node or -gpu), wasm or cpu; default the best present. */
  tfBackend: 'FLUX_TF_BACKEND',
  /** The number of image decoding workers in flux embed; default one per core. */
  decodeWorkers: 'FLUX_DECODE_WORKERS',
  /** 1 draws progress bars even when standard error is not a terminal. */
  progress: 'FLUX_PROGRESS',
  /** The ONNX Runtime execution provider: cpu, cuda, tensorrt or webgpu; default the best that loads. */
  onnxProvider: 'FLUX_ONNX_PROVIDER',
} as const;

export type EnvName = keyof typeof ENV_VARS;

/** The value of a workbench environment variable, or undefined when unset or empty. */
export function env(name: EnvName): string | undefined {
  const value = process.env[ENV_VARS[name]];
  return value === undefined || value === '' ? undefined : value;
}
