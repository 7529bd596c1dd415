/**
 * TensorFlow.js with the best backend this machine has: tfjs-node-gpu, then tfjs-node (native TensorFlow, installed
 * where libtensorflow can be downloaded), then WebAssembly (SIMD, threads), then plain JavaScript.
 */
import * as tf from '@tensorflow/tfjs';
import { FluxError } from '../util/check.js';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKENDS: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export interface BackendReport {
  name: BackendName;
  /** Backends tried before this one, with why they were not used. */
  skipped: Array<{ name: BackendName; reason: string }>;
}

let current: BackendReport | null = null;

async function tryBackend(name: BackendName): Promise<void> {
  if (name === 'tensorflow-gpu' || name === 'tensorflow') {
    // the native bindings register the 'tensorflow' backend when their package imports
    const pkg = name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
    await import(pkg as string);
    if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} did not register its backend`);
  } else if (name === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) throw new Error('the WebAssembly backend did not start');
  } else if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not start');
  await tf.ready();
}

/**
 * Selects a backend once per process: the one asked for (the pipeline passes `--backend` or FLUX_TF_BACKEND), else
 * the best that loads. Returns what was chosen and what was skipped.
 */
export async function initBackend(prefer?: BackendName | string): Promise<BackendReport> {
  const wanted = prefer as BackendName | undefined;
  if (wanted !== undefined && !BACKENDS.includes(wanted)) {
    throw new FluxError(`FLUX_TF_BACKEND / --backend: expected one of ${BACKENDS.join(', ')}, received ${wanted}`);
  }
  if (current && (!wanted || current.name === wanted)) return current;
  const skipped: BackendReport['skipped'] = [];
  for (const name of wanted ? [wanted] : BACKENDS) {
    try {
      await tryBackend(name);
      current = { name, skipped };
      return current;
    } catch (err) {
      skipped.push({ name, reason: ((err as Error).message ?? String(err)).split('\n')[0] as string });
    }
  }
  throw new FluxError(
    `no TensorFlow.js backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`,
  );
}

export { tf };
