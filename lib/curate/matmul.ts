/**
 * Dense float32 matrix products through ONNX Runtime's CPU kernels (MLAS: vectorised, multithreaded). The graph is
 * one MatMul node, written here as a minimal ONNX protobuf so no model file is needed.
 */
import * as ort from 'onnxruntime-node';

// protobuf wire format: a varint, a length-delimited field, a varint field
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const bytes = (field: number, data: number[] | Uint8Array): number[] => [...varint((field << 3) | 2), ...varint(data.length), ...data];
const text = (field: number, s: string): number[] => bytes(field, [...new TextEncoder().encode(s)]);
const int = (field: number, n: number): number[] => [...varint(field << 3), ...varint(n)];

/** ValueInfoProto of a float tensor with symbolic (string) or fixed (number) dimensions. */
function valueInfo(name: string, dims: Array<string | number>): number[] {
  const shape = dims.flatMap((d) => bytes(1, typeof d === 'number' ? int(1, d) : text(2, d)));
  const tensorType = [...int(1, 1), ...bytes(2, shape)];
  return [...text(1, name), ...bytes(2, bytes(1, tensorType))];
}

/** The ONNX model computing Y = A x B for A [m, k] and B [k, n]. */
export function matmulModel(): Uint8Array {
  const node = [...text(1, 'A'), ...text(1, 'B'), ...text(2, 'Y'), ...text(4, 'MatMul')];
  const graph = [...bytes(1, node), ...text(2, 'matmul'), ...bytes(11, valueInfo('A', ['m', 'k'])), ...bytes(11, valueInfo('B', ['k', 'n'])),
    ...bytes(12, valueInfo('Y', ['m', 'n']))];
  return new Uint8Array([...int(1, 8), ...bytes(8, [...text(1, ''), ...int(2, 13)]), ...bytes(7, graph)]);
}

/** A reusable matrix multiplier. */
export class MatMul {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(threads = 0): Promise<MatMul> {
    const session = await ort.InferenceSession.create(matmulModel(), { intraOpNumThreads: threads, graphOptimizationLevel: 'all' });
    return new MatMul(session);
  }

  /** A [m, k] times B [k, n], row-major; returns [m, n]. */
  async run(a: Float32Array, m: number, k: number, b: Float32Array, n: number): Promise<Float32Array> {
    const out = await this.session.run({ A: new ort.Tensor('float32', a, [m, k]), B: new ort.Tensor('float32', b, [k, n]) });
    return (out.Y as ort.Tensor).data as Float32Array;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
