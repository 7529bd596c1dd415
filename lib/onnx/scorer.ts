/**
 * A loaded keeper-scorer graph (built by the ranker stage): feature rows in, keeper probabilities and raw scores out.
 */
import { openSession, ort, type Provider, type ProviderChoice } from './runtime.js';

/** A loaded scorer graph. */
export class OnnxScorer {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly dim: number,
    readonly metadata: Record<string, string>,
    /** The execution provider the graph runs on. */
    readonly provider: Provider,
  ) {}

  /** Loads a scorer graph on an execution provider (default: the best that loads). */
  static async load(model: string | Uint8Array, threads = 0, provider: ProviderChoice = 'auto'): Promise<OnnxScorer> {
    const { session, provider: chosen } = await openSession(model, { threads, provider });
    const meta = (session as unknown as { inputMetadata?: Array<{ shape?: Array<number | string> }> }).inputMetadata;
    const dim = Number(meta?.[0]?.shape?.[1] ?? NaN);
    return new OnnxScorer(session, dim, {}, chosen);
  }

  /** Keeper probabilities and raw scores of `n` rows (row-major, `dim` wide), in batches. */
  async score(x: Float32Array, dim: number, batch = 65536): Promise<{ prob: Float32Array; raw: Float32Array }> {
    const n = x.length / dim;
    const prob = new Float32Array(n);
    const raw = new Float32Array(n);
    for (let s = 0; s < n; s += batch) {
      const m = Math.min(batch, n - s);
      const features = new ort.Tensor('float32', x.subarray(s * dim, (s + m) * dim), [m, dim]);
      const out = await this.session.run({ features });
      prob.set((out.keeper_score as ort.Tensor).data as Float32Array, s);
      raw.set((out.raw_score as ort.Tensor).data as Float32Array, s);
    }
    return { prob, raw };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
