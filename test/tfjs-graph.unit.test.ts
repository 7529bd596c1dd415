import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openSession, ort } from '../lib/onnx/runtime.js';
import { decodeWeights, tfjsToOnnx, tfPads, type TfGraphJson, type TfNode } from '../lib/onnx/tfjs-graph.js';
import { initBackend, tf } from '../lib/tfjs/backend.js';
import { Rng } from '../lib/util/rng.js';

test("TF's SAME padding: the odd pixel goes at the end; VALID pads nothing", () => {
  assert.deepEqual(tfPads(9, 3, 2, 'SAME'), [5, 1, 1]);
  assert.deepEqual(tfPads(10, 3, 2, 'SAME'), [5, 0, 1]);
  assert.deepEqual(tfPads(5, 2, 2, 'SAME'), [3, 0, 1]);
  assert.deepEqual(tfPads(5, 1, 1, 'SAME'), [5, 0, 0]);
  assert.deepEqual(tfPads(9, 3, 2, 'VALID'), [4, 0, 0]);
  assert.throws(() => tfPads(9, 3, 2, 'EXPLICIT'), /padding EXPLICIT is not supported/);
});

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const list = (...i: number[]): { list: { i: string[] } } => ({ list: { i: i.map(String) } });
const conv = (op: string, inputs: string[], strides: number, padding: string, fused: string[] = []): object => ({
  T: { type: 'DT_FLOAT' },
  strides: list(1, strides, strides, 1),
  padding: { s: b64(padding) },
  data_format: { s: b64('NHWC') },
  dilations: list(1, 1, 1, 1),
  explicit_paddings: { list: {} },
  ...(op.startsWith('_Fused') || op.startsWith('Fused')
    ? { fused_ops: { list: { s: fused.map(b64) } }, num_args: { i: String(inputs.length - 2) }, epsilon: { f: 0 } }
    : {}),
});

/** A small graph with every op the converter knows, its weights (one float16-quantized), and its output names. */
function smallGraph(): { json: TfGraphJson; bytes: Uint8Array; outputs: string[] } {
  const rng = new Rng(7);
  const weights: Array<{ name: string; shape: number[]; dtype: string; values: number[]; half?: boolean }> = [];
  const nodes: TfNode[] = [
    {
      name: 'x',
      op: 'Placeholder',
      attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [1, 9, 9, 3].map((s) => ({ size: String(s) })) } } },
    } as TfNode,
  ];
  const w = (name: string, shape: number[], values?: number[], dtype = 'float32'): string => {
    const n = shape.reduce((a, b) => a * b, 1);
    weights.push({ name, shape, dtype, values: values ?? Array.from({ length: n }, () => rng.normal() * 0.5) });
    nodes.push({ name, op: 'Const', attr: { dtype: { type: dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' } } } as TfNode);
    return name;
  };
  const node = (name: string, op: string, input: string[], attr: object = {}): string => {
    nodes.push({ name, op, input, attr: { T: { type: 'DT_FLOAT' }, ...attr } } as TfNode);
    return name;
  };
  const c1 = node('c1', '_FusedConv2D', ['x', w('w1', [3, 3, 3, 8]), w('b1', [8])], {});
  (nodes.at(-1) as TfNode).attr = conv('_FusedConv2D', ['x', 'w1', 'b1'], 2, 'SAME', ['BiasAdd', 'Relu']) as never;
  const d1 = node('d1', 'FusedDepthwiseConv2dNative', [c1, w('dw1', [3, 3, 8, 1]), w('db1', [8])]);
  (nodes.at(-1) as TfNode).attr = conv('Fused', ['', '', ''], 1, 'SAME', ['BiasAdd', 'Relu6']) as never;
  const m1 = node('m1', 'Mul', [d1, w('vec', [8])]);
  w('three', [], [3]);
  (weights.at(-1) as { half?: boolean }).half = true;
  const a1 = node('a1', 'AddV2', [m1, 'three']);
  const mean = node('mean', 'Mean', [a1, w('axes', [2], [1, 2], 'int32')], { keep_dims: { b: true } });
  const m2 = node('m2', 'Mul', [a1, node('se', 'Sigmoid', [mean])]);
  const p = node('p', 'MaxPool', [m2], {
    ksize: list(1, 3, 3, 1),
    strides: list(1, 2, 2, 1),
    padding: { s: b64('SAME') },
  });
  const r = node('r', 'ResizeBilinear', [p, w('size', [2], [5, 5], 'int32')], {
    align_corners: { b: false },
    half_pixel_centers: { b: false },
  });
  const cat = node('cat', 'ConcatV2', [r, m2, w('axis', [], [3], 'int32')], { N: { i: '2' } });
  node('c2', 'Conv2D', [cat, w('w2', [1, 1, 16, 4])]);
  (nodes.at(-1) as TfNode).attr = conv('Conv2D', [], 1, 'VALID') as never;
  const pad = node('pad', 'Pad', ['c2', w('pads', [4, 2], [0, 0, 0, 0, 0, 0, 0, 2], 'int32')]);
  node('out', 'Reshape', [pad, w('shape', [3], [1, -1, 6], 'int32')]);
  node('dw2', 'DepthwiseConv2dNative', [c1, w('dwk2', [3, 3, 8, 2])]);
  (nodes.at(-1) as TfNode).attr = conv('DepthwiseConv2dNative', [], 2, 'SAME') as never;
  node('lk', 'LeakyRelu', ['dw2'], { alpha: { f: 0.1 } });
  node('rl', 'Relu', [node('sub', 'Sub', ['lk', w('quarter', [], [0.25])])]);
  const chunks = weights.map((x) => {
    if (x.half) return new Uint8Array([0x00, 0x42]); // 3 as float16
    const a = x.dtype === 'int32' ? Int32Array.from(x.values) : Float32Array.from(x.values);
    return new Uint8Array(a.buffer);
  });
  const bytes = new Uint8Array(Buffer.concat(chunks));
  const specs = weights.map(({ name, shape, dtype, half }) => ({
    name,
    shape,
    dtype,
    ...(half ? { quantization: { dtype: 'float16', original_dtype: 'float32' } } : {}),
  }));
  const json = { modelTopology: { node: nodes }, weightsManifest: [{ paths: ['w.bin'], weights: specs }] };
  return { json, bytes, outputs: ['out', 'c2', 'rl', 'm2'] };
}

/** A TF.js graph model from its JSON and weight bytes, loaded in memory as TF.js would load it from files. */
function loadInMemory(
  json: { modelTopology: object; weightsManifest: Array<{ weights: unknown }> },
  bytes: Uint8Array,
): Promise<tf.GraphModel> {
  return tf.loadGraphModel({
    load: async () => ({
      modelTopology: { ...json.modelTopology, versions: { producer: 1 } } as never,
      weightSpecs: json.weightsManifest[0]?.weights as never,
      weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    }),
  });
}

test('a TF.js graph converted to ONNX computes what TF.js computes, op by op', async () => {
  await initBackend();
  const { json, bytes, outputs } = smallGraph();
  assert.deepEqual(
    Array.from(decodeWeights(json.weightsManifest[0]?.weights ?? [], bytes).get('three')?.data ?? []),
    [3],
  );
  const model = await loadInMemory(json, bytes);
  const rng = new Rng(3);
  const input = Float32Array.from({ length: 9 * 9 * 3 }, () => rng.normal());
  const want = model.execute(tf.tensor4d(input, [1, 9, 9, 3]), outputs) as tf.Tensor[];
  const { bytes: onnx, outputShapes } = tfjsToOnnx(json, bytes, { name: 'small', inputShape: [1, 9, 9, 3], outputs });
  const { session } = await openSession(onnx, { threads: 1, provider: 'cpu' });
  const got = await session.run({ input: new ort.Tensor('float32', input, [1, 9, 9, 3]) });
  for (const [i, name] of outputs.entries()) {
    const t = want[i] as tf.Tensor;
    assert.deepEqual(outputShapes[name], t.shape, name);
    assert.deepEqual(got[name]?.dims, t.shape, name);
    const a = (await t.data()) as Float32Array;
    const b = got[name]?.data as Float32Array;
    let diff = 0;
    for (let k = 0; k < a.length; k++) diff = Math.max(diff, Math.abs((a[k] as number) - (b[k] as number)));
    assert.ok(diff < 1e-4, `${name}: ${diff}`);
    assert.ok(
      a.some((v) => Math.abs(v) > 0.01),
      `${name} is not all zero`,
    );
  }
  await session.release();
  model.dispose();
  tf.dispose(want);
  const bad = {
    ...json,
    modelTopology: { node: [...json.modelTopology.node, { name: 'e', op: 'Erf', input: ['rl'] }] },
  };
  assert.throws(
    () => tfjsToOnnx(bad, bytes, { name: 'bad', inputShape: [1, 9, 9, 3], outputs: ['e'] }),
    /op Erf \(node e\) has no ONNX conversion here/,
  );
});

/**
 * A graph as ONNX-to-TF converters write them: an NCHW input, a transpose around every convolution, a pad with
 * minus infinity before a pool, a split, and a reshape whose shape is computed from constants.
 */
function transposingGraph(): { json: TfGraphJson; bytes: Uint8Array; outputs: string[] } {
  const rng = new Rng(11);
  const specs: Array<{ name: string; shape: number[]; dtype: string }> = [];
  const chunks: Uint8Array[] = [];
  const nodes: TfNode[] = [{ name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' } } } as TfNode];
  const w = (name: string, shape: number[], values?: number[], dtype = 'float32'): string => {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = values ?? Array.from({ length: n }, () => rng.normal() * 0.5);
    specs.push({ name, shape, dtype });
    chunks.push(new Uint8Array((dtype === 'int32' ? Int32Array.from(v) : Float32Array.from(v)).buffer));
    nodes.push({ name, op: 'Const', attr: { dtype: { type: dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' } } } as TfNode);
    return name;
  };
  const node = (name: string, op: string, input: string[], attr: object = {}): string => {
    nodes.push({ name, op, input, attr: { T: { type: 'DT_FLOAT' }, ...attr } } as TfNode);
    return name;
  };
  const toNhwc = w('p1', [4], [0, 2, 3, 1], 'int32');
  const toNchw = w('p2', [4], [0, 3, 1, 2], 'int32');
  const t1 = node('t1', 'Transpose', ['x', toNhwc]);
  node('conv', 'Conv2D', [t1, w('k', [3, 3, 3, 4])], conv('Conv2D', [], 1, 'VALID'));
  const bias = node('bias', 'Add', ['conv', w('b', [4])]);
  const lk = node('lk', 'LeakyRelu', [node('t2', 'Transpose', [bias, toNchw])], { alpha: { f: 0.1 } });
  const pads = w('pads', [4, 2], [0, 0, 0, 0, 1, 1, 1, 1], 'int32');
  const padded = node('padded', 'PadV2', [lk, pads, w('minus', [], [-Infinity])]);
  const t3 = node('t3', 'Transpose', [padded, toNhwc]);
  const pool = node('pool', 'MaxPool', [t3], {
    ksize: list(1, 3, 3, 1),
    strides: list(1, 2, 2, 1),
    padding: { s: b64('VALID') },
  });
  const t4 = node('t4', 'Transpose', [pool, toNchw]);
  node('split', 'SplitV', [t4, w('sizes', [2], [1, -1], 'int32'), w('dim', [], [1], 'int32')], {
    num_split: { i: '2' },
  });
  // [1, -1] plus a sparse-to-dense of nothing (zeros): the shape of the reshape
  const none = node('none', 'SparseToDense', [
    w('where', [0, 1], [], 'int32'),
    w('dense', [1], [2], 'int32'),
    w('vals', [0], [], 'int32'),
    w('zero', [], [0], 'int32'),
  ]);
  const shape = node('shape', 'AddV2', [w('base', [2], [1, -1], 'int32'), none]);
  node('flat', 'Reshape', ['split:1', shape]);
  const json = { modelTopology: { node: nodes }, weightsManifest: [{ paths: ['w.bin'], weights: specs }] };
  return { json, bytes: new Uint8Array(Buffer.concat(chunks)), outputs: ['split', 'flat', 'lk'] };
}

test('a graph that transposes its own NCHW tensors (as ONNX-to-TF converters write them) converts too', async () => {
  await initBackend();
  const { json, bytes, outputs } = transposingGraph();
  const model = await loadInMemory(json, bytes);
  const rng = new Rng(5);
  const input = Float32Array.from({ length: 3 * 8 * 8 }, () => rng.normal());
  const want = model.execute(tf.tensor4d(input, [1, 3, 8, 8]), outputs) as tf.Tensor[];
  const { bytes: onnx } = tfjsToOnnx(json, bytes, {
    name: 't',
    inputShape: [1, 3, 8, 8],
    outputs,
    inputLayout: 'plain',
  });
  const { session } = await openSession(onnx, { threads: 1, provider: 'cpu' });
  const got = await session.run({ input: new ort.Tensor('float32', input, [1, 3, 8, 8]) });
  for (const [i, name] of outputs.entries()) {
    const t = want[i] as tf.Tensor;
    assert.deepEqual(got[name]?.dims, t.shape, name);
    const a = (await t.data()) as Float32Array;
    const b = got[name]?.data as Float32Array;
    assert.ok(
      a.every((v, k) => Math.abs(v - (b[k] as number)) < 1e-4),
      name,
    );
  }
  // the pooled map is [1, 4, 3, 3] (6 + 2 padded, 3 x 3 windows, stride 2); its last 3 channels, flattened
  assert.deepEqual(got.flat?.dims, [1, 27]);
  await session.release();
  model.dispose();
  tf.dispose(want);
});
