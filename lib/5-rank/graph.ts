/**
 * The keeper scorer as one ONNX graph: raw feature row in, keeper probability out (with the raw ranking score as a
 * second output). Standardisation, missing-value imputation, the scorer and its calibration are all in the graph,
 * so any ONNX runtime reproduces `flux score` from the features alone.
 */
import { GraphBuilder } from '../onnx/graph.js';
import type { Calibration } from './calibrate.js';
import type { Standardizer } from '../4-dataset/rows.js';
import type { ScorerParams, Weight } from './scorers.js';

const w = (p: ScorerParams, k: string): Weight => {
  const v = p.weights[k];
  if (!v) throw new RangeError(`scorer ${p.kind}: no weight ${k}`);
  return v;
};

/** Builds the graph. `metadata` lands in the model's metadata_props. */
export function scorerGraph(
  dim: number,
  std: Standardizer,
  params: ScorerParams,
  calibration: Calibration,
  metadata: Record<string, string> = {},
): Uint8Array {
  if (params.kind === 'random') throw new RangeError('the chance baseline has no graph');
  const g = new GraphBuilder('keeper_scorer', 13);
  const x = g.input('features', ['n', dim]);
  const scaled = g.node('Div', [g.node('Sub', [x, g.constant(std.mean, [dim])]), g.constant(std.std, [dim])]);
  const xs = g.node('Where', [g.node('IsNaN', [x]), g.constant([0], [1]), scaled]);
  const flat = g.int64([-1]);
  let s: string;
  if (params.kind === 'linear') {
    s = g.node('Add', [
      g.node('MatMul', [xs, g.constant(w(params, 'W').values, w(params, 'W').shape)]),
      g.constant(w(params, 'b').values, [1]),
    ]);
  } else if (params.kind === 'mlp') {
    const W0 = w(params, 'W0');
    s = g.node('Add', [
      g.node('MatMul', [xs, g.constant(W0.values, W0.shape)]),
      g.constant(w(params, 'b2').values, [1]),
    ]);
    if (params.weights.W1) {
      const W1 = w(params, 'W1');
      const hidden = g.node('Relu', [
        g.node('Add', [
          g.node('MatMul', [xs, g.constant(W1.values, W1.shape)]),
          g.constant(w(params, 'b1').values, w(params, 'b1').shape),
        ]),
      ]);
      s = g.node('Add', [s, g.node('MatMul', [hidden, g.constant(w(params, 'W2').values, w(params, 'W2').shape)])]);
    }
  } else {
    const W = w(params, 'W');
    const C = w(params, 'C');
    const [k, p] = C.shape as [number, number];
    const z = g.node('Add', [
      g.node('MatMul', [xs, g.constant(W.values, W.shape)]),
      g.constant(w(params, 'b').values, w(params, 'b').shape),
    ]);
    const norm = g.node('Add', [
      g.node('Sqrt', [g.node('ReduceSumSquare', [z], { axes: { ints: [1] }, keepdims: { i: 1 } })]),
      g.constant([1e-12], [1]),
    ]);
    // centroids are unit vectors already; transposed to [p, k]
    const cT = new Float32Array(p * k);
    for (let i = 0; i < k; i++) for (let j = 0; j < p; j++) cT[j * k + i] = C.values[i * p + j] as number;
    const cos = g.node('MatMul', [g.node('Div', [z, norm]), g.constant(cT, [p, k])]);
    s = g.node('ReduceMax', [cos], { axes: { ints: [1] }, keepdims: { i: 1 } });
  }
  const raw = g.node('Reshape', [s, flat], {}, 'raw_score');
  g.output(raw, ['n']);
  let prob: string;
  if (calibration.method === 'platt') {
    prob = g.node('Sigmoid', [
      g.node('Add', [g.node('Mul', [raw, g.constant([calibration.a], [1])]), g.constant([calibration.b], [1])]),
    ]);
  } else {
    const { x: kx, y: ky } = calibration;
    const m = kx.length;
    if (m === 1) {
      prob = g.node('Add', [g.node('Mul', [raw, g.constant([0], [1])]), g.constant([ky[0] as number], [1])]);
    } else {
      // y0 + sum_i slope_i * clip(s - x_i, 0, x_{i+1} - x_i): linear between knots, flat outside
      const knots = kx.slice(0, m - 1);
      const widths = knots.map((v, i) => (kx[i + 1] as number) - v);
      const slopes = widths.map((wd, i) => (wd > 0 ? ((ky[i + 1] as number) - (ky[i] as number)) / wd : 0));
      const col = g.node('Reshape', [raw, g.int64([-1, 1])]);
      const clipped = g.node('Min', [
        g.node('Relu', [g.node('Sub', [col, g.constant(knots, [m - 1])])]),
        g.constant(widths, [m - 1]),
      ]);
      prob = g.node('Add', [
        g.node('MatMul', [clipped, g.constant(slopes, [m - 1, 1])]),
        g.constant([ky[0] as number], [1]),
      ]);
      prob = g.node('Reshape', [prob, flat]);
    }
  }
  g.output(g.node('Identity', [prob], {}, 'keeper_score'), ['n']);
  return g.toBytes(metadata, 'FLUX keeper scorer: standardise, score, calibrate');
}
