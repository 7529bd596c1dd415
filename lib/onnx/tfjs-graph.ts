/**
 * A TF.js graph model (model.json and its weight bytes) converted to an ONNX graph, for the convolutional networks
 * the detectors are: convolutions (plain, depthwise, fused with a bias and an activation), element-wise arithmetic,
 * pooling, means, bilinear resizes, concatenations, pads, splits, transposes and reshapes. TF.js lays images out
 * NHWC, ONNX's Conv wants NCHW: an NHWC input is transposed once, every 4-D tensor a convolution makes is kept NCHW
 * (constants broadcast over channels reshaped to [C, 1, 1], axes of means, concatenations, splits and pads
 * remapped), and a tensor is transposed back to NHWC only where a reshape or an output needs TF's order. A graph
 * that transposes its own tensors (one converted from ONNX, NCHW input) keeps TF's order between the transposes,
 * which then mostly cancel. TF's SAME padding (the odd pixel at the end) becomes explicit pads; shape arithmetic on
 * constants is done here. An op outside this set stops the conversion with a message naming it.
 */
import { FluxError } from '../util/check.js';
import { GraphBuilder } from './graph.js';

/** A node of the TF.js graph (model.json `modelTopology.node`). */
export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}

interface TfAttr {
  s?: string;
  i?: string;
  f?: number;
  b?: boolean;
  list?: { i?: string[]; s?: string[] };
}

/** One weight of the manifest; `quantization` as TF.js writes it (float16, or uint8/uint16 with scale and min). */
export interface TfWeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

/** What the converter needs of a model.json. */
export interface TfGraphJson {
  modelTopology: { node: TfNode[] };
  weightsManifest: Array<{ paths: string[]; weights: TfWeightSpec[] }>;
}

interface Weight {
  shape: number[];
  data: Float32Array | Int32Array;
}

function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** The weights of a manifest read from their concatenated bytes, dequantized to float32 (int32 kept). */
export function decodeWeights(specs: readonly TfWeightSpec[], bytes: Uint8Array): Map<string, Weight> {
  const out = new Map<string, Weight>();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  for (const w of specs) {
    const n = w.shape.reduce((a, b) => a * b, 1);
    const q = w.quantization;
    const stored = q?.dtype ?? w.dtype;
    const size = { float32: 4, int32: 4, float16: 2, uint16: 2, uint8: 1 }[stored];
    if (size === undefined) throw new FluxError(`weight ${w.name}: dtype ${stored} is not supported`);
    if (at + n * size > bytes.byteLength) throw new FluxError(`weight ${w.name}: the weight file is too short`);
    const data = w.dtype === 'int32' && !q ? new Int32Array(n) : new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const o = at + i * size;
      if (stored === 'float32') data[i] = view.getFloat32(o, true);
      else if (stored === 'int32') data[i] = view.getInt32(o, true);
      else if (stored === 'float16') data[i] = half(view.getUint16(o, true));
      else {
        const v = stored === 'uint8' ? view.getUint8(o) : view.getUint16(o, true);
        data[i] = v * (q?.scale ?? 1) + (q?.min ?? 0);
      }
    }
    out.set(w.name, { shape: w.shape, data });
    at += n * size;
  }
  return out;
}

/** A converted tensor: its ONNX name, its shape (NCHW when `nchw`), and whether it is an NCHW image tensor. */
interface Value {
  name: string;
  shape: number[];
  nchw: boolean;
}

/** NHWC axis -> NCHW axis. */
const TO_NCHW = [0, 2, 3, 1];

function text(a: TfAttr | undefined): string {
  return a?.s ? Buffer.from(a.s, 'base64').toString('utf8') : '';
}

function ints(a: TfAttr | undefined): number[] {
  return (a?.list?.i ?? []).map(Number);
}

/** Output side and the pads at the start and end, as TF computes them for SAME or VALID. */
export function tfPads(size: number, kernel: number, stride: number, padding: string): [number, number, number] {
  if (padding === 'VALID') return [Math.floor((size - kernel) / stride) + 1, 0, 0];
  if (padding !== 'SAME') throw new FluxError(`padding ${padding} is not supported`);
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  return [out, Math.floor(total / 2), total - Math.floor(total / 2)];
}

function broadcast(a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    return Math.max(x, y);
  });
}

class Converter {
  readonly g: GraphBuilder;
  private readonly values = new Map<string, Value[]>();
  private readonly folded = new Map<string, Weight | null>();
  private readonly nodes: Map<string, TfNode>;

  constructor(
    name: string,
    json: TfGraphJson,
    private readonly weights: Map<string, Weight>,
    private readonly inputShape: number[],
    private readonly inputLayout: 'nhwc' | 'plain',
  ) {
    this.g = new GraphBuilder(name, 13);
    this.nodes = new Map(json.modelTopology.node.map((n) => [n.name, n]));
  }

  /** The converted value of a TF tensor reference (`node` or `node:k`), converting its node on first use. */
  value(ref: string): Value {
    const [name, k] = ref.includes(':') ? [ref.slice(0, ref.lastIndexOf(':')), Number(ref.split(':').pop())] : [ref, 0];
    let known = this.values.get(name);
    if (!known) {
      const node = this.nodes.get(name);
      if (!node) throw new FluxError(`tensor ${ref}: no such node in the graph`);
      const v = this.convert(node);
      known = Array.isArray(v) ? v : [v];
      this.values.set(name, known);
    }
    const v = known[k];
    if (!v) throw new FluxError(`tensor ${ref}: the node has no output ${k}`);
    return v;
  }

  /** A constant's weight (a Const, or a node computed from constants only), or null. */
  weight(ref: string): Weight | null {
    const name = ref.replace(/:0$/, '');
    const node = this.nodes.get(name);
    if (!node) return null;
    if (node.op === 'Const') return this.weights.get(name) ?? null;
    if (!this.folded.has(name)) this.folded.set(name, this.fold(node));
    return this.folded.get(name) ?? null;
  }

  /** Shape arithmetic on constants done here: sparse-to-dense, element-wise sums and products, identities. */
  private fold(node: TfNode): Weight | null {
    if (!['SparseToDense', 'Add', 'AddV2', 'Sub', 'Mul', 'Identity'].includes(node.op)) return null;
    const ins = (node.input ?? []).map((r) => this.weight(r));
    if (!ins.length || ins.some((w) => !w)) return null;
    const [a, b, c, d] = ins as [Weight, Weight, Weight, Weight];
    if (node.op === 'Identity') return a;
    if (node.op === 'SparseToDense') {
      // indices [n, rank] or [n], the dense shape, values [n] or one, the default
      const shape = Array.from(b.data);
      const data =
        c.data instanceof Float32Array
          ? new Float32Array(shape.reduce((x, y) => x * y, 1))
          : new Int32Array(shape.reduce((x, y) => x * y, 1));
      data.fill(d.data[0] as number);
      const n = a.shape[0] ?? 0;
      const rank = a.shape[1] ?? 1;
      for (let i = 0; i < n; i++) {
        let at = 0;
        for (let r = 0; r < rank; r++) at = at * (shape[r] as number) + (a.data[i * rank + r] as number);
        data[at] = (c.data.length === 1 ? c.data[0] : c.data[i]) as number;
      }
      return { shape, data };
    }
    if (b.data.length !== 1 && b.data.length !== a.data.length) return null;
    const f =
      { Add: (x: number, y: number) => x + y, AddV2: (x: number, y: number) => x + y }[node.op as 'Add'] ??
      (node.op === 'Sub' ? (x: number, y: number) => x - y : (x: number, y: number) => x * y);
    const float = a.data instanceof Float32Array || b.data instanceof Float32Array;
    const out = float ? new Float32Array(a.data.length) : new Int32Array(a.data.length);
    for (let i = 0; i < out.length; i++) out[i] = f(a.data[i] as number, b.data[b.data.length === 1 ? 0 : i] as number);
    return { shape: a.shape, data: out };
  }

  private need(node: TfNode, i: number): Weight {
    const w = this.weight(node.input?.[i] ?? '');
    if (!w) throw new FluxError(`${node.op} ${node.name}: input ${i} must be a constant`);
    return w;
  }

  private input(node: TfNode, i: number): Value {
    const ref = node.input?.[i];
    if (ref === undefined) throw new FluxError(`${node.op} ${node.name}: input ${i} is missing`);
    return this.operand(ref);
  }

  /**
   * A value or a constant as an operand of an element-wise op: beside an NCHW tensor, a 1-D constant broadcast over
   * channels becomes [C, 1, 1]; beside a tensor in TF's own order, constants are kept as they are.
   */
  private operand(ref: string, nchw = true): Value {
    const w = this.weight(ref);
    if (!w) return this.value(ref);
    if (w.data instanceof Int32Array) return { name: this.g.int64(Array.from(w.data), w.shape), shape: w.shape, nchw };
    if (!nchw) return { name: this.g.constant(w.data, w.shape), shape: w.shape, nchw: false };
    if (w.shape.length === 1 && nchw) {
      const dims = [w.shape[0] as number, 1, 1];
      return { name: this.g.constant(w.data, dims), shape: dims, nchw: false };
    }
    if (w.shape.length > 1) throw new FluxError(`constant ${ref}: only scalars and vectors are supported`);
    return { name: this.g.constant(w.data, w.shape), shape: w.shape, nchw: false };
  }

  /** The value in TF's NHWC order. */
  nhwc(v: Value): Value {
    if (!v.nchw) return v;
    const [n, c, h, w] = v.shape as [number, number, number, number];
    return {
      name: this.g.node('Transpose', [v.name], { perm: { ints: [0, 2, 3, 1] } }),
      shape: [n, h, w, c],
      nchw: false,
    };
  }

  /** A rank-4 tensor in TF's NHWC order as NCHW, for the convolutions, pools and resizes. */
  private toNchw(v: Value, node: TfNode): Value {
    if (v.nchw) return v;
    if (v.shape.length !== 4) throw new FluxError(`${node.op} ${node.name}: input is not an image tensor`);
    const [n, h, w, c] = v.shape as [number, number, number, number];
    return {
      name: this.g.node('Transpose', [v.name], { perm: { ints: [0, 3, 1, 2] } }),
      shape: [n, c, h, w],
      nchw: true,
    };
  }

  private transpose(node: TfNode): Value {
    const x = this.input(node, 0);
    const perm = Array.from(this.need(node, 1).data);
    // output axis j is TF's input axis perm[j], which an NCHW tensor keeps at TO_NCHW[perm[j]]
    const stored = x.nchw ? perm.map((a) => TO_NCHW[a] as number) : perm;
    const shape = stored.map((a) => x.shape[a] as number);
    if (stored.every((a, i) => a === i)) return { name: x.name, shape, nchw: false };
    return { name: this.g.node('Transpose', [x.name], { perm: { ints: stored } }), shape, nchw: false };
  }

  private split(node: TfNode): Value[] {
    const x = this.input(node, 0);
    const sizes = Array.from(this.need(node, 1).data);
    const [dim] = this.axes(node, x, 2) as [number];
    const total = x.shape[dim] as number;
    const known = sizes.filter((d) => d !== -1).reduce((a, b) => a + b, 0);
    let at = 0;
    return sizes.map((d) => {
      const size = d === -1 ? total - known : d;
      const ends = [at + size];
      const name = this.g.node('Slice', [x.name, this.g.int64([at]), this.g.int64(ends), this.g.int64([dim])]);
      at += size;
      return { name, shape: x.shape.map((s, i) => (i === dim ? size : s)), nchw: x.nchw };
    });
  }

  private convert(node: TfNode): Value | Value[] {
    const op = node.op;
    if (op === 'Placeholder') {
      const x = this.g.input('input', this.inputShape);
      if (this.inputLayout === 'plain') return { name: x, shape: this.inputShape, nchw: false };
      const [n, h, w, c] = this.inputShape as [number, number, number, number];
      return { name: this.g.node('Transpose', [x], { perm: { ints: [0, 3, 1, 2] } }), shape: [n, c, h, w], nchw: true };
    }
    if (op === 'Transpose') return this.transpose(node);
    if (op === 'SplitV') return this.split(node);
    if (op === 'Identity') return this.input(node, 0);
    if (op === '_FusedConv2D' || op === 'Conv2D') return this.conv(node, false);
    if (op === 'FusedDepthwiseConv2dNative' || op === 'DepthwiseConv2dNative') return this.conv(node, true);
    if (['Add', 'AddV2', 'Mul', 'Sub'].includes(op)) return this.binary(node);
    if (['Relu', 'Relu6', 'Sigmoid', 'LeakyRelu'].includes(op)) return this.activation(node, op, this.input(node, 0));
    if (op === 'Mean') return this.mean(node);
    if (op === 'ConcatV2') return this.concat(node);
    if (op === 'ResizeBilinear') return this.resize(node);
    if (op === 'MaxPool') return this.maxPool(node);
    if (op === 'Pad' || op === 'PadV2') return this.pad(node);
    if (op === 'Reshape') {
      const x = this.nhwc(this.input(node, 0));
      const want = Array.from(this.need(node, 1).data);
      const known = want.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
      const total = x.shape.reduce((a, b) => a * b, 1);
      const shape = want.map((d) => (d === -1 ? total / known : d));
      return { name: this.g.node('Reshape', [x.name, this.g.int64(want)]), shape, nchw: false };
    }
    throw new FluxError(`op ${op} (node ${node.name}) has no ONNX conversion here`);
  }

  private activation(node: TfNode, kind: string, x: Value): Value {
    const out = (name: string): Value => ({ ...x, name });
    if (kind === 'Relu') return out(this.g.node('Relu', [x.name]));
    if (kind === 'Sigmoid') return out(this.g.node('Sigmoid', [x.name]));
    if (kind === 'Relu6') return out(this.g.node('Clip', [x.name, this.g.constant([0], []), this.g.constant([6], [])]));
    if (kind === 'LeakyRelu') {
      const alpha = node.attr?.alpha?.f ?? node.attr?.leakyrelu_alpha?.f ?? 0.2;
      return out(this.g.node('LeakyRelu', [x.name], { alpha: { f: alpha } }));
    }
    throw new FluxError(`${node.op} ${node.name}: fused activation ${kind} has no ONNX conversion here`);
  }

  private conv(node: TfNode, depthwise: boolean): Value {
    const x = this.toNchw(this.input(node, 0), node);
    const w = this.need(node, 1);
    const [kh, kw, ci, co] = w.shape as [number, number, number, number];
    const outC = depthwise ? ci * co : co;
    // TF [kh, kw, in, out] (depthwise: [kh, kw, in, multiplier]) -> ONNX [out, in / group, kh, kw]
    const data = new Float32Array(kh * kw * ci * co);
    for (let y = 0; y < kh; y++)
      for (let z = 0; z < kw; z++)
        for (let i = 0; i < ci; i++)
          for (let o = 0; o < co; o++) {
            const src = ((y * kw + z) * ci + i) * co + o;
            const dst = depthwise ? ((i * co + o) * kh + y) * kw + z : ((o * ci + i) * kh + y) * kw + z;
            data[dst] = w.data[src] as number;
          }
    const dims = depthwise ? [outC, 1, kh, kw] : [co, ci, kh, kw];
    const [, sh, sw] = ints(node.attr?.strides);
    if (ints(node.attr?.dilations).some((d) => d !== 1))
      throw new FluxError(`${node.op} ${node.name}: dilated convolutions are not supported`);
    const padding = text(node.attr?.padding);
    const [oh, top, bottom] = tfPads(x.shape[2] as number, kh, sh ?? 1, padding);
    const [ow, left, right] = tfPads(x.shape[3] as number, kw, sw ?? 1, padding);
    const fused = (node.attr?.fused_ops?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('utf8'));
    const inputs = [x.name, this.g.constant(data, dims)];
    if (fused[0] === 'BiasAdd') inputs.push(this.g.constant(this.need(node, 2).data, [outC]));
    else if (fused.length) throw new FluxError(`${node.op} ${node.name}: fused ${fused.join('+')} is not supported`);
    const attrs = {
      kernel_shape: { ints: [kh, kw] },
      strides: { ints: [sh ?? 1, sw ?? 1] },
      pads: { ints: [top, left, bottom, right] },
      ...(depthwise ? { group: { i: ci } } : {}),
    };
    const conv: Value = {
      name: this.g.node('Conv', inputs, attrs),
      shape: [x.shape[0] as number, outC, oh, ow],
      nchw: true,
    };
    return fused.slice(1).reduce((v, kind) => this.activation(node, kind, v), conv);
  }

  private binary(node: TfNode): Value {
    const [ra, rb] = node.input as [string, string];
    const va = this.weight(ra) ? null : this.value(ra);
    const vb = this.weight(rb) ? null : this.value(rb);
    // two tensors in different layouts meet in TF's order; a constant takes the layout of the tensor beside it
    const mixed = va && vb && va.nchw !== vb.nchw;
    const nchw = !mixed && Boolean(va?.nchw || vb?.nchw);
    const a = va ? (mixed ? this.nhwc(va) : va) : this.operand(ra, nchw);
    const b = vb ? (mixed ? this.nhwc(vb) : vb) : this.operand(rb, nchw);
    const op = { Add: 'Add', AddV2: 'Add', Mul: 'Mul', Sub: 'Sub' }[node.op] as string;
    return { name: this.g.node(op, [a.name, b.name]), shape: broadcast(a.shape, b.shape), nchw: a.nchw || b.nchw };
  }

  private axes(node: TfNode, x: Value, at: number): number[] {
    return Array.from(this.need(node, at).data).map((a) => {
      const axis = a < 0 ? a + x.shape.length : a;
      return x.nchw ? (TO_NCHW[axis] as number) : axis;
    });
  }

  private mean(node: TfNode): Value {
    const x = this.input(node, 0);
    const axes = this.axes(node, x, 1);
    const keep = node.attr?.keep_dims?.b ?? false;
    if (!keep && x.nchw) throw new FluxError(`Mean ${node.name}: a mean that drops image axes is not supported`);
    const shape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d)).filter((_, i) => keep || !axes.includes(i));
    const name = this.g.node('ReduceMean', [x.name], { axes: { ints: axes }, keepdims: { i: keep ? 1 : 0 } });
    return { name, shape, nchw: x.nchw };
  }

  private concat(node: TfNode): Value {
    const refs = (node.input ?? []).slice(0, -1);
    let parts = refs.map((r) => this.operand(r));
    if (parts.some((p) => p.nchw !== parts[0]?.nchw)) parts = parts.map((p) => this.nhwc(p));
    const first = parts[0] as Value;
    const [axis] = this.axes(node, first, (node.input?.length ?? 1) - 1) as [number];
    const shape = first.shape.map((d, i) => (i === axis ? parts.reduce((s, p) => s + (p.shape[i] as number), 0) : d));
    const name = this.g.node(
      'Concat',
      parts.map((p) => p.name),
      { axis: { i: axis } },
    );
    return { name, shape, nchw: first.nchw };
  }

  private resize(node: TfNode): Value {
    const x = this.toNchw(this.input(node, 0), node);
    const [h, w] = Array.from(this.need(node, 1).data) as [number, number];
    const mode = node.attr?.align_corners?.b
      ? 'align_corners'
      : node.attr?.half_pixel_centers?.b
        ? 'half_pixel'
        : 'asymmetric';
    const shape = [x.shape[0] as number, x.shape[1] as number, h, w];
    const name = this.g.node('Resize', [x.name, '', '', this.g.int64(shape)], {
      mode: { s: 'linear' },
      coordinate_transformation_mode: { s: mode },
    });
    return { name, shape, nchw: true };
  }

  private maxPool(node: TfNode): Value {
    const x = this.toNchw(this.input(node, 0), node);
    const [, kh, kw] = ints(node.attr?.ksize) as [number, number, number];
    const [, sh, sw] = ints(node.attr?.strides) as [number, number, number];
    const padding = text(node.attr?.padding);
    const [oh, top, bottom] = tfPads(x.shape[2] as number, kh, sh, padding);
    const [ow, left, right] = tfPads(x.shape[3] as number, kw, sw, padding);
    const name = this.g.node('MaxPool', [x.name], {
      kernel_shape: { ints: [kh, kw] },
      strides: { ints: [sh, sw] },
      pads: { ints: [top, left, bottom, right] },
    });
    return { name, shape: [x.shape[0] as number, x.shape[1] as number, oh, ow], nchw: true };
  }

  private pad(node: TfNode): Value {
    const x = this.input(node, 0);
    const p = Array.from(this.need(node, 1).data);
    const rank = x.shape.length;
    const begins = new Array<number>(rank).fill(0);
    const ends = new Array<number>(rank).fill(0);
    for (let a = 0; a < rank; a++) {
      const to = x.nchw ? (TO_NCHW[a] as number) : a;
      begins[to] = p[2 * a] as number;
      ends[to] = p[2 * a + 1] as number;
    }
    const shape = x.shape.map((d, i) => d + (begins[i] as number) + (ends[i] as number));
    const value = node.op === 'PadV2' ? [this.g.constant(this.need(node, 2).data, [])] : [];
    return { name: this.g.node('Pad', [x.name, this.g.int64([...begins, ...ends]), ...value]), shape, nchw: x.nchw };
  }
}

/**
 * Converts a TF.js graph model to ONNX bytes: one float32 input named `input` of `inputShape` (NHWC, as the TF.js
 * model takes it) and the given TF tensors as outputs under their TF names, in TF's NHWC order.
 */
export function tfjsToOnnx(
  json: TfGraphJson,
  weightData: Uint8Array,
  options: { name: string; inputShape: number[]; outputs: readonly string[]; inputLayout?: 'nhwc' | 'plain' },
): { bytes: Uint8Array; outputShapes: Record<string, number[]> } {
  const weights = decodeWeights(
    json.weightsManifest.flatMap((g) => g.weights),
    weightData,
  );
  const c = new Converter(options.name, json, weights, options.inputShape, options.inputLayout ?? 'nhwc');
  const outputShapes: Record<string, number[]> = {};
  for (const out of options.outputs) {
    const v = c.nhwc(c.value(out));
    c.g.node('Identity', [v.name], {}, out);
    c.g.output(out, v.shape);
    outputShapes[out] = v.shape;
  }
  return { bytes: c.g.toBytes({ source: 'tfjs-graph-model' }), outputShapes };
}
