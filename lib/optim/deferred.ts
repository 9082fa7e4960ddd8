/**
 * Loss terms left on the device and read later: on webgpu a read-back is a
 * point where the host waits for the device, so a step that reads its loss
 * cannot be queued behind the previous one. With a {@linkcode DeferredTerms}
 * passed to a stepper, each step keeps its packed terms on the device and
 * multiplies a device-side gate by "every term is finite"; an optimiser
 * that honours the gate (`adam` on webgpu) changes nothing once it is 0. The
 * caller reads the queued steps' terms in one transfer every few steps
 * (`flush`, asynchronous: later steps are queued meanwhile) and at the end
 * of the epoch; a non-finite term is then reported with its step, and the
 * weights are those from before that step.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Variable } from "../util/tensor_types.ts";

/**
 * The name a tape's total is packed under (not a term name).
 *
 * @example
 * ```ts
 * import { termsFromValues, TOTAL_SLOT } from "./deferred.ts";
 * if (termsFromValues([TOTAL_SLOT], [2]).total !== 2) throw new Error();
 * ```
 */
export const TOTAL_SLOT = "\u0000total";

/**
 * Terms from packed values: slots named `TOTAL_SLOT` (or `prefix +
 * TOTAL_SLOT`) add up into `total` (`prefix + "total"`), slots of the same
 * name add up (chunks of one loss).
 *
 * @example
 * ```ts
 * import { termsFromValues, TOTAL_SLOT } from "./deferred.ts";
 * const t = termsFromValues(["a", TOTAL_SLOT, "a", TOTAL_SLOT], [1, 2, 3, 4]);
 * if (t.a !== 4 || t.total !== 6) throw new Error(JSON.stringify(t));
 * ```
 */
export function termsFromValues(
  names: readonly string[],
  values: ArrayLike<number>,
): Record<string, number> {
  const terms: Record<string, number> = {};
  const totals: Record<string, number> = {};
  names.forEach((k, i) => {
    if (k.endsWith(TOTAL_SLOT)) {
      const key = k.slice(0, -TOTAL_SLOT.length) + "total";
      totals[key] = (totals[key] ?? 0) + values[i];
    } else terms[k] = (terms[k] ?? 0) + values[i];
  });
  // Named terms first, so a non-finite loss is reported by its culprit.
  return { ...terms, ...totals };
}

/** One step's terms, read back. */
export interface ReadStep {
  /** The step's index as given to {@linkcode DeferredTerms.beginStep}. */
  step: number;
  /** Its terms (with `total`). */
  terms: Record<string, number>;
}

/**
 * A queue of steps' packed loss terms on the device, with the finiteness
 * gate of the optimiser updates.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { DeferredTerms, TOTAL_SLOT } from "./deferred.ts";
 * await tf.setBackend("cpu");
 * const q = new DeferredTerms();
 * q.beginStep(1);
 * q.add(tf.tensor1d([0.5, 0.5]), ["rec", TOTAL_SLOT]);
 * q.beginStep(2);
 * const bad = tf.tensor1d([NaN, NaN]);
 * q.gateWith(bad);
 * q.add(bad, ["rec", TOTAL_SLOT]);
 * const read = await q.flush();
 * if (read.length !== 2 || read[0].terms.total !== 0.5 || !Number.isNaN(read[1].terms.rec)) throw new Error();
 * if (q.gate.dataSync()[0] !== 0) throw new Error("the gate closes on a NaN");
 * q.dispose();
 * ```
 */
export class DeferredTerms {
  /** 1 while every gated term so far was finite, then 0 (float32 scalar). */
  readonly gate: Variable;
  /** Prefix of the names added (a meta stepper's second stage). */
  prefix = "";
  #steps: { step: number; values: Tensor[]; names: string[] }[] = [];

  /** A queue with an open gate. */
  constructor() {
    this.gate = tf.variable(tf.scalar(1), false);
  }

  /** Start collecting the terms of step `step`. */
  beginStep(step: number): void {
    this.#steps.push({ step, values: [], names: [] });
  }

  /** Queue a step's packed terms (the queue owns them; `flush` frees them). */
  add(values: Tensor, names: readonly string[]): void {
    const cur = this.#steps[this.#steps.length - 1];
    if (!cur) throw new Error("DeferredTerms: add before beginStep");
    cur.values.push(tf.keep(values));
    for (const n of names) cur.names.push(this.prefix + n);
  }

  /** Close the gate unless every value is finite; returns the gate. */
  gateWith(values: Tensor): Tensor {
    tf.tidy(() => {
      const ok = tf.cast(tf.all(tf.isFinite(values)), "float32");
      this.gate.assign(tf.mul(this.gate, ok));
    });
    return this.gate;
  }

  /** Steps queued and not yet flushed. */
  get pending(): number {
    return this.#steps.length;
  }

  /**
   * Read every queued step's terms in one transfer (the queue empties at
   * once; the read completes asynchronously).
   */
  flush(): Promise<ReadStep[]> {
    const steps = this.#steps;
    this.#steps = [];
    const parts = steps.flatMap((s) =>
      s.values.map((v) => tf.reshape(v, [-1]))
    );
    if (parts.length === 0) {
      return Promise.resolve(steps.map((s) => ({ step: s.step, terms: {} })));
    }
    const all = tf.concat(parts);
    tf.dispose(parts);
    for (const s of steps) tf.dispose(s.values);
    return all.data().then((values) => {
      all.dispose();
      let at = 0;
      return steps.map((s) => {
        const n = s.names.length;
        const terms = termsFromValues(s.names, values.subarray(at, at + n));
        at += n;
        return { step: s.step, terms };
      });
    });
  }

  /** Free the queue and the gate. */
  dispose(): void {
    for (const s of this.#steps) tf.dispose(s.values);
    this.#steps = [];
    this.gate.dispose();
  }
}
