/** Progress of a long job. `lib/` never prints: it calls `onProgress`, and the CLI or a notebook shows it. */
export interface ProgressEvent {
  /** What is running, e.g. `scan`, `originals`, `keepers`, `render`. */
  stage: string;
  /** Units finished in this stage; never decreases within a stage. */
  done: number;
  /** Units in this stage. */
  total: number;
  /** Optional short text (the current file, a count of failures). */
  detail?: string;
}

/** A progress callback. */
export type OnProgress = (event: ProgressEvent) => void;

/** Calls `onProgress` at most every `ms` milliseconds, and always for the last unit of a stage. */
export function throttle(onProgress: OnProgress | undefined, ms = 200): OnProgress {
  let last = 0;
  return (event) => {
    if (!onProgress) return;
    const now = Date.now();
    if (event.done >= event.total || event.done === 0 || now - last >= ms) {
      last = now;
      onProgress(event);
    }
  };
}
