/**
 * The image models the workbench can embed with: one record per model says where the file comes from, how to
 * verify it, and exactly how its model card prepares an image. Any other ONNX image model can be described by the
 * same record in a small JSON file (`--model path/to/model.json`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { FluxError } from '../util/check.js';
import { projectRoot } from '../util/project.js';

/** How a model wants its input image. */
export interface Preprocessing {
  /** `short-side`: scale the shorter side to `resize`, then centre-crop `size`; `squash`: scale to `size`x`size`. */
  resizeMode: 'short-side' | 'squash';
  /** Target of the shorter side for `short-side` (e.g. 256 for a 224 crop). */
  resize: number;
  /** Model input width and height. */
  size: number;
  /** sharp resampling kernel the card's resize is closest to. */
  kernel: 'linear' | 'cubic' | 'lanczos3';
  mean: [number, number, number];
  std: [number, number, number];
  layout: 'NCHW';
}

/** A model record. */
export interface ModelSpec {
  id: string;
  /** File name under `models/` (or the shared model folder). */
  file: string;
  sha256: string | null;
  bytes: number | null;
  url: string | null;
  input: string;
  /** The output tensor used as the embedding. */
  output: string;
  dim: number;
  preprocessing: Preprocessing;
  licence: string;
  source: string;
  /** An optional classifier output, for sanity checks (MobileNetV2 logits). */
  logits?: string;
}

const IMAGENET = {
  mean: [0.485, 0.456, 0.406] as [number, number, number],
  std: [0.229, 0.224, 0.225] as [number, number, number],
};
const CLIP = {
  mean: [0.48145466, 0.4578275, 0.40821073] as [number, number, number],
  std: [0.26862954, 0.26130258, 0.27577711] as [number, number, number],
};

/** The supported models. The first is the offline default. */
export const MODELS: readonly ModelSpec[] = [
  {
    id: 'mobilenetv2-int8',
    file: 'mobilenetv2-12-int8.embed.onnx',
    sha256: 'c7629e3a9d43ef186beb116572fb3e46210b884aa038fe1d6f14a537b72cec66',
    bytes: 3_655_263,
    url: null,
    input: 'input',
    output: 'embedding',
    logits: 'output',
    dim: 1280,
    preprocessing: { resizeMode: 'short-side', resize: 256, size: 224, kernel: 'linear', ...IMAGENET, layout: 'NCHW' },
    licence: 'Apache-2.0',
    source: 'ONNX Model Zoo mobilenetv2-12-int8 with its pooled 1280-d features exposed as output "embedding"',
  },
  {
    id: 'clip-vit-b32',
    file: 'clip-vit-base-patch32.vision_model.onnx',
    sha256: 'fd6e1402a588279d1723c7534d4bcba5bc0b14b47dfab0e46f8c47b8270d7d40',
    bytes: null,
    url: 'https://huggingface.co/Xenova/clip-vit-base-patch32/resolve/4c1807b705b1d015fb032789cc4d221b23025a6f/onnx/vision_model.onnx',
    input: 'pixel_values',
    output: 'image_embeds',
    dim: 512,
    preprocessing: { resizeMode: 'short-side', resize: 224, size: 224, kernel: 'cubic', ...CLIP, layout: 'NCHW' },
    licence: 'MIT (OpenAI CLIP)',
    source: 'OpenAI CLIP ViT-B/32 image encoder, ONNX export by Xenova (transformers.js)',
  },
  {
    id: 'siglip-b16-512',
    file: 'siglip-base-patch16-512.vision_model.onnx',
    sha256: 'f56c7c48e4a46e9fee040be2764ebd6c9ddaa8fc841b0d88c4bbc2b436713eb0',
    bytes: null,
    url: 'https://huggingface.co/Xenova/siglip-base-patch16-512/resolve/2547aaa7a6c64e07c5115d676e30151ff57ad7a9/onnx/vision_model.onnx',
    input: 'pixel_values',
    output: 'pooler_output',
    dim: 768,
    preprocessing: {
      resizeMode: 'squash',
      resize: 512,
      size: 512,
      kernel: 'cubic',
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
      layout: 'NCHW',
    },
    licence: 'Apache-2.0 (Google SigLIP)',
    source:
      'Google SigLIP base patch16 512 image encoder, ONNX export by Xenova (transformers.js); stronger than CLIP B/32',
  },
];

/** Where model files are looked for: `models/`, then the shared model folder beside the project. */
export function modelDirs(): string[] {
  const root = projectRoot();
  return [join(root, 'models'), resolve(root, '..', 'shared', 'models')];
}

/** A model resolved to a file on disk. */
export interface ResolvedModel {
  spec: ModelSpec;
  path: string;
}

function fromJson(file: string): ModelSpec {
  let raw: Partial<ModelSpec>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as Partial<ModelSpec>;
  } catch (err) {
    throw new FluxError(`--model: cannot read model description ${file}: ${(err as Error).message}`);
  }
  for (const key of ['id', 'file', 'input', 'output', 'dim', 'preprocessing'] as const) {
    if (raw[key] === undefined)
      throw new FluxError(`--model: ${file} lacks "${key}" (see README "Embeddings" for the format)`);
  }
  const spec = { sha256: null, bytes: null, url: null, licence: 'unknown', source: file, ...raw } as ModelSpec;
  if (!isAbsolute(spec.file)) spec.file = join(dirname(resolve(file)), spec.file);
  return spec;
}

/** Finds a model by id, or by a `.json` description; null path when the file is not on this machine. */
export function findModel(idOrPath: string): { spec: ModelSpec; path: string | null } {
  const spec = idOrPath.endsWith('.json') ? fromJson(idOrPath) : MODELS.find((m) => m.id === idOrPath);
  if (!spec)
    throw new FluxError(
      `--model: expected one of ${MODELS.map((m) => m.id).join(', ')} or a model .json file, received "${idOrPath}"`,
    );
  if (isAbsolute(spec.file)) return { spec, path: existsSync(spec.file) ? spec.file : null };
  const path =
    modelDirs()
      .map((d) => join(d, spec.file))
      .find((p) => existsSync(p)) ?? null;
  return { spec, path };
}

/** The best model present on this machine, in registry order after the default; null when there is none. */
export function defaultModel(): ResolvedModel | null {
  for (const m of MODELS) {
    const { path } = findModel(m.id);
    if (path) return { spec: m, path };
  }
  return null;
}
