/**
 * The only module that imports onnxruntime-node: session creation with the workbench's settings and the choice of
 * execution provider. The image embedder, the curator's matrix kernels and the exported keeper scorer all open
 * their sessions here.
 *
 * Providers: onnxruntime-node on Linux x64 bundles `cpu` and `webgpu`; `cuda` and `tensorrt` are compiled in but
 * their libraries come only from the package's install step run for CUDA 12. By default the best provider that
 * loads is used (tensorrt, cuda, webgpu, then cpu) and the choice is reported; a provider asked for by name must
 * load, or the run stops with a message saying how to install it.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { FluxError } from '../util/check.js';

export { ort };

/** The execution providers the workbench knows, best first. */
export const PROVIDERS = ['tensorrt', 'cuda', 'webgpu', 'cpu'] as const;
export type Provider = (typeof PROVIDERS)[number];
/** A provider by name, or `auto`: the best one that loads. */
export type ProviderChoice = Provider | 'auto';

/** Session settings: intra-op threads (0 = ONNX Runtime's default, one per core) and inter-op threads. */
export interface SessionOptions {
  threads?: number;
  interOpThreads?: number;
  /** The execution provider; default `auto`. */
  provider?: ProviderChoice;
}

/** How to get a provider that is not here. */
export function installHint(provider: Provider): string {
  if (provider === 'cuda' || provider === 'tensorrt') {
    return (
      `${provider} needs the CUDA 12 libraries of onnxruntime-node, which a plain install skips: on Linux x64 ` +
      'with an NVIDIA driver and CUDA 12' +
      (provider === 'tensorrt' ? ' and TensorRT' : '') +
      ', and with internet, ' +
      'run its install script, which the .npmrc of the project leaves off: ' +
      '(cd node_modules/onnxruntime-node && ONNXRUNTIME_NODE_INSTALL=cuda12 node script/install.js)'
    );
  }
  if (provider === 'webgpu') {
    return (
      'webgpu is bundled with onnxruntime-node on Linux and Windows, and needs a GPU with a Vulkan (Linux) or ' +
      'Direct3D 12 (Windows) driver'
    );
  }
  return 'cpu is always bundled with onnxruntime-node; reinstall it with npm install';
}

/** The folder of the native onnxruntime-node libraries of this platform. */
function binFolder(): string {
  const main = createRequire(import.meta.url).resolve('onnxruntime-node');
  return join(dirname(main), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

/** Shared libraries a provider needs beside the binding on Linux (the install step puts them there). */
const LINUX_LIBRARIES: Partial<Record<Provider, string[]>> = {
  cuda: ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'],
  tensorrt: ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_tensorrt.so'],
};

/** Where a Vulkan loader is usually found on Linux (WebGPU runs on it). */
const VULKAN = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib64'].map(
  (d) => join(d, 'libvulkan.so.1'),
);

/**
 * The providers this installation of onnxruntime-node holds, best first: compiled into its binding and, on Linux,
 * with their libraries in place.
 */
export function installedProviders(): Provider[] {
  const compiled = new Set(ort.listSupportedBackends().map((b) => b.name));
  return PROVIDERS.filter(
    (p) =>
      compiled.has(p) &&
      (process.platform !== 'linux' || (LINUX_LIBRARIES[p] ?? []).every((f) => existsSync(join(binFolder(), f)))),
  );
}

/**
 * The providers `auto` tries, best first: the installed ones, less WebGPU on a Linux machine without a Vulkan loader
 * (it could find no GPU there, and its driver probe would print warnings on every run).
 */
export function autoProviders(): Provider[] {
  return installedProviders().filter(
    (p) => p !== 'webgpu' || process.platform !== 'linux' || VULKAN.some((f) => existsSync(f)),
  );
}

/** Checks a provider name (from --provider or FLUX_ONNX_PROVIDER). */
export function checkProvider(name: string, value: string | undefined): ProviderChoice {
  if (value === undefined) return 'auto';
  if (value === 'auto' || (PROVIDERS as readonly string[]).includes(value)) return value as ProviderChoice;
  throw new FluxError(`${name}: expected one of auto, cpu, cuda, tensorrt, webgpu, received ${JSON.stringify(value)}`);
}

/** An open session and the provider it runs on. */
export interface OpenSession {
  session: ort.InferenceSession;
  provider: Provider;
}

function settingsFor(options: SessionOptions, provider: Provider): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: options.threads ?? 0,
    graphOptimizationLevel: 'all',
    executionProviders: [provider],
    ...(options.interOpThreads !== undefined ? { interOpNumThreads: options.interOpThreads } : {}),
  };
}

async function create(
  model: string | Uint8Array,
  settings: ort.InferenceSession.SessionOptions,
): Promise<ort.InferenceSession> {
  return typeof model === 'string'
    ? ort.InferenceSession.create(model, settings)
    : ort.InferenceSession.create(model, settings);
}

/**
 * Opens an inference session on a model file or the bytes of a model, on the provider asked for, or (`auto`) on the
 * best provider that loads. A provider asked for that is not installed, or does not load, stops with a message that
 * says how to install it; an error of the model itself (a bad file) is passed on as it is.
 */
export async function openSession(model: string | Uint8Array, options: SessionOptions = {}): Promise<OpenSession> {
  const choice = options.provider ?? 'auto';
  if (choice !== 'auto') {
    const installed = installedProviders();
    if (!installed.includes(choice)) {
      throw new FluxError(
        `--provider ${choice}: not available in this installation of onnxruntime-node ` +
          `(available: ${installed.join(', ')}); ${installHint(choice)}`,
      );
    }
    try {
      return { session: await create(model, settingsFor(options, choice)), provider: choice };
    } catch (err) {
      if (choice === 'cpu') throw err;
      // ONNX Runtime's messages start with a source location and an assertion; the reason comes after them
      const first = ((err as Error).message.split('\n')[0] ?? '').replace(/^.* was false\. /, '');
      throw new FluxError(
        `--provider ${choice}: installed but does not load here (${first.slice(0, 200)}); ` + installHint(choice),
      );
    }
  }
  for (const provider of autoProviders().filter((p) => p !== 'cpu')) {
    try {
      return { session: await create(model, settingsFor(options, provider)), provider };
    } catch {
      // not usable here (no device, no driver): the next one is tried, down to the CPU
    }
  }
  return { session: await create(model, settingsFor(options, 'cpu')), provider: 'cpu' };
}

/** Opens an inference session (see `openSession`) when the caller does not need to know the provider. */
export async function createSession(
  model: string | Uint8Array,
  options: SessionOptions = {},
): Promise<ort.InferenceSession> {
  return (await openSession(model, options)).session;
}
