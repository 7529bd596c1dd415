import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matmulModel, MatMul } from '../lib/onnx/matmul.js';
import { autoProviders, checkProvider, installedProviders, openSession } from '../lib/onnx/runtime.js';
import { curateVectors } from '../lib/7-curate/curate.js';
import { onnxProvider } from '../lib/pipeline/stages.js';
import { scorePhotos, trainAndScore } from '../lib/pipeline/train-and-score.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FluxError } from '../lib/util/check.js';
import { Rng } from '../lib/util/rng.js';
import { unitRows } from '../lib/util/vectors.js';

// this machine has no GPU: onnxruntime-node's CUDA libraries are not installed (.npmrc skips them) and there is no
// Vulkan loader, so `auto` must come down to the CPU; a machine with a GPU set up answers differently
const gpuHere = autoProviders().some((p) => p !== 'cpu');
const noGpu = gpuHere
  ? `a GPU provider is set up here (${autoProviders().join(', ')}): the CPU fallback is not taken`
  : false;

test('the providers this installation holds: cpu always, cuda and tensorrt only with their libraries', () => {
  const installed = installedProviders();
  assert.ok(installed.includes('cpu'));
  assert.equal(installed.at(-1), 'cpu', 'best first, cpu last');
  for (const p of autoProviders()) assert.ok(installed.includes(p), `${p} is tried by auto only when installed`);
});

test('auto falls back to the CPU here and says so; the kernels still compute', { skip: noGpu }, async () => {
  const { session, provider } = await openSession(matmulModel());
  await session.release();
  assert.equal(provider, 'cpu');
  const mm = await MatMul.create();
  try {
    assert.equal(mm.provider, 'cpu');
    const y = await mm.run(Float32Array.from([1, 2, 3, 4]), 2, 2, Float32Array.from([0, 1, 1, 0]), 2);
    assert.deepEqual(Array.from(y), [2, 1, 4, 3]);
  } finally {
    await mm.close();
  }
});

test('asking for cuda where it is not installed fails with how to install it', { skip: noGpu }, async () => {
  await assert.rejects(
    openSession(matmulModel(), { provider: 'cuda' }),
    (e: Error) =>
      e instanceof FluxError &&
      /^--provider cuda: not available in this installation of onnxruntime-node \(available: [a-z, ]*cpu\); /.test(
        e.message,
      ) &&
      /ONNXRUNTIME_NODE_INSTALL=cuda12 node script\/install\.js/.test(e.message) &&
      /CUDA 12/.test(e.message),
  );
  await assert.rejects(openSession(matmulModel(), { provider: 'tensorrt' }), /--provider tensorrt: .*TensorRT.*cuda12/);
  // the curator's kernels take the same option
  const rng = new Rng(4);
  const matrix = unitRows({ data: Float32Array.from({ length: 60 * 4 }, () => rng.normal()), rows: 60, dim: 4 });
  const ids = Array.from({ length: 60 }, (_, i) => i + 1);
  const options = { method: 'fps' as const, target: 5, iterations: 2, seed: 1 };
  await assert.rejects(
    curateVectors({ ids, matrix }, { ...options, provider: 'cuda' }),
    /--provider cuda: not available/,
  );
  const r = await curateVectors({ ids, matrix }, options);
  assert.equal(r.provider, 'cpu');
  assert.equal(r.selection.length, 5);
});

test('the provider comes from --provider, else FLUX_ONNX_PROVIDER, else auto; a wrong name is named', async () => {
  const saved = process.env.FLUX_ONNX_PROVIDER;
  try {
    delete process.env.FLUX_ONNX_PROVIDER;
    assert.equal(onnxProvider(), 'auto');
    process.env.FLUX_ONNX_PROVIDER = 'cuda';
    assert.equal(onnxProvider(), 'cuda');
    assert.equal(onnxProvider('cpu'), 'cpu', 'the option wins');
    process.env.FLUX_ONNX_PROVIDER = 'gpu';
    assert.throws(
      () => onnxProvider(),
      /^FluxError: FLUX_ONNX_PROVIDER: expected one of auto, cpu, cuda, tensorrt, webgpu, received "gpu"$/,
    );
    assert.throws(() => checkProvider('--provider', 'CUDA'), /--provider: expected one of .*received "CUDA"/);
    // training's rescore and the corpus scorer read it too, and refuse a wrong name before opening anything
    const nowhere = join(tmpdir(), 'flux-no-such-db', 'flux.duckdb');
    await assert.rejects(trainAndScore({ db: nowhere }), /^FluxError: FLUX_ONNX_PROVIDER: expected one of/);
    await assert.rejects(scorePhotos({ db: nowhere }), /^FluxError: FLUX_ONNX_PROVIDER: expected one of/);
  } finally {
    if (saved === undefined) delete process.env.FLUX_ONNX_PROVIDER;
    else process.env.FLUX_ONNX_PROVIDER = saved;
  }
});
