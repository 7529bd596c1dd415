/**
 * Dense float32 matrix products through ONNX Runtime's CPU kernels (MLAS: vectorised, multithreaded). The graph is
 * one MatMul node, built in code so no model file is needed.
 */
import { GraphBuilder } from './graph.js';
import { openSession, ort, type Provider, type ProviderChoice } from './runtime.js';

/** The ONNX model computing Y = A x B for A [m, k] and B [k, n]. */
export function matmulModel(): Uint8Array {
  const g = new GraphBuilder('matmul', 13);
  g.node('MatMul', [g.input('A', ['m', 'k']), g.input('B', ['k', 'n'])], {}, 'Y');
  g.output('Y', ['m', 'n']);
  return g.toBytes();
}

/** A reusable matrix multiplier. */
export class MatMul {
  private constructor(
    private readonly session: ort.InferenceSession,
    /** The execution provider the products run on. */
    readonly provider: Provider,
  ) {}

  /** A multiplier on `threads` threads (0: one per core) and an execution provider (default: the best that loads). */
  static async create(threads = 0, provider: ProviderChoice = 'auto'): Promise<MatMul> {
    const { session, provider: chosen } = await openSession(matmulModel(), { threads, provider });
    return new MatMul(session, chosen);
  }

  /** A [m, k] times B [k, n], row-major; returns [m, n]. */
  async run(a: Float32Array, m: number, k: number, b: Float32Array, n: number): Promise<Float32Array> {
    const out = await this.session.run({
      A: new ort.Tensor('float32', a, [m, k]),
      B: new ort.Tensor('float32', b, [k, n]),
    });
    return (out.Y as ort.Tensor).data as Float32Array;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
