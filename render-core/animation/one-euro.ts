/**
 * The One Euro filter (Casiez, Roussel and Vogel, "1 Euro Filter: A Simple
 * Speed-based Low-pass Filter for Noisy Input in Interactive Systems", CHI
 * 2012) over a vector, one independent filter per component: an exponential
 * low-pass whose cutoff rises with the component's (itself low-passed) speed,
 * so a still signal is smoothed hard (little jitter) and a moving one little
 * (little lag).
 *
 * Per sample at time t (seconds), dt since the last one, per component:
 *   alpha(fc) = 1 / (1 + tau / dt),  tau = 1 / (2 pi fc)
 *   dx  = (x - x_prev) / dt,                     dxhat = low-pass(dx, alpha(dCutoff))
 *   fc  = minCutoff + beta |dxhat|,               xhat  = low-pass(x, alpha(fc))
 * with low-pass(x, a) = s + a (x - s) (so a constant input passes exactly)
 * and x_prev the previous raw sample (as the authors' reference code).
 * With beta = 0 it is a plain exponential smoother of time constant
 * tau = 1 / (2 pi minCutoff): after a step, 1 - (tau / (tau + dt))^n of it
 * has come through after n samples (about 1 - e^-1 = 63 % at t = tau), and a
 * ramp of slope v lags by v tau.
 */
import type { ClipSample } from "./clip";

export interface OneEuroOptions {
  /** Cutoff (Hz) of a still signal: lower smooths more and lags more. Default 1. */
  minCutoff?: number;
  /** How fast the cutoff rises with speed (Hz per unit / s): higher lags less on fast moves. Default 0 (a plain exponential smoother). */
  beta?: number;
  /** Cutoff (Hz) of the speed's own low-pass. Default 1. */
  dCutoff?: number;
}

/** A One Euro filter over vectors of `size` numbers. */
export class OneEuroFilter {
  readonly size: number;
  readonly minCutoff: number;
  readonly beta: number;
  readonly dCutoff: number;
  private readonly x: Float64Array;
  private readonly dx: Float64Array;
  private readonly raw: Float64Array;
  private last = NaN;

  constructor(size: number, options: OneEuroOptions = {}) {
    if (!(Number.isInteger(size) && size >= 1))
      throw new Error(`OneEuroFilter: size must be a whole number >= 1, got ${size}`);
    this.size = size;
    this.minCutoff = options.minCutoff ?? 1;
    this.beta = options.beta ?? 0;
    this.dCutoff = options.dCutoff ?? 1;
    if (!(this.minCutoff > 0) || !(this.dCutoff > 0) || !(this.beta >= 0) || !Number.isFinite(this.beta))
      throw new Error(
        `OneEuroFilter: minCutoff and dCutoff must be > 0 and beta >= 0, got ${this.minCutoff}, ${this.dCutoff}, ${this.beta}`,
      );
    this.x = new Float64Array(size);
    this.dx = new Float64Array(size);
    this.raw = new Float64Array(size);
  }

  /** Forgets the history: the next sample passes unchanged. */
  reset(): void {
    this.last = NaN;
    this.dx.fill(0);
  }

  /**
   * Filters sample `value` taken at `seconds` (increasing). The first sample
   * (and the first after reset() or after time went backwards) passes
   * unchanged; a sample at the same time as the last gives the last output.
   * Writes into `out` when given (else a new Float32Array) and returns it.
   */
  filter(value: ArrayLike<number>, seconds: number, out?: Float32Array): Float32Array {
    if (value.length !== this.size)
      throw new Error(`OneEuroFilter.filter: sample has ${value.length} numbers, the filter ${this.size}`);
    if (!Number.isFinite(seconds)) throw new Error(`OneEuroFilter.filter: time must be finite seconds, got ${seconds}`);
    const res = out ?? new Float32Array(this.size);
    if (res.length !== this.size)
      throw new Error(`OneEuroFilter.filter: out has ${res.length} numbers, need ${this.size}`);
    const dt = seconds - this.last;
    if (!(dt >= 0)) {
      // First sample, or time went backwards (a new stream): start over from this sample.
      for (let i = 0; i < this.size; i++) {
        if (!Number.isFinite(value[i])) throw new Error(`OneEuroFilter.filter: component ${i} is ${value[i]}`);
        this.x[i] = this.raw[i] = value[i];
      }
      this.dx.fill(0);
      this.last = seconds;
    } else if (dt > 0) {
      const ad = OneEuroFilter.alpha(this.dCutoff, dt);
      for (let i = 0; i < this.size; i++) {
        const v = value[i];
        if (!Number.isFinite(v)) throw new Error(`OneEuroFilter.filter: component ${i} is ${v}`);
        const d = (v - this.raw[i]) / dt;
        this.raw[i] = v;
        this.dx[i] += ad * (d - this.dx[i]);
        const a = OneEuroFilter.alpha(this.minCutoff + this.beta * Math.abs(this.dx[i]), dt);
        this.x[i] += a * (v - this.x[i]);
      }
      this.last = seconds;
    }
    for (let i = 0; i < this.size; i++) res[i] = this.x[i];
    return res;
  }

  /** Smoothing factor of an exponential low-pass with cutoff `hz` sampled every `dt` seconds. */
  static alpha(hz: number, dt: number): number {
    const tau = 1 / (2 * Math.PI * hz);
    return 1 / (1 + tau / dt);
  }
}

/**
 * Smoothing for createFaceDriver's samples at webcam rates (20-30 fps): a
 * still face is smoothed with a 2 Hz cutoff (time constant 80 ms), a
 * coefficient moving at 1 unit / s raises it to 7 Hz (23 ms). Measured in
 * face-drive.test.ts ("smoothing the solved stream").
 */
export const DRIVE_SMOOTHING: Readonly<OneEuroOptions> = { minCutoff: 2, beta: 5, dCutoff: 1 };

/**
 * One Euro filtering of a stream of ClipSamples (expression, pose and
 * translation as one vector): `filter(sample, seconds)` returns the smoothed
 * sample (new arrays). Without options it uses DRIVE_SMOOTHING; given options
 * are used as they are (what they leave out takes OneEuroFilter's defaults). Expression coefficients (0..1) and angles (radians,
 * small) share one set of options; the axis-angle pose is smoothed
 * component-wise, which matches a rotation's smoothing to first order for the
 * head's small, slowly changing angles (as sampleClip's interpolation).
 */
export function createSampleFilter(
  expressionCount: number,
  options?: OneEuroOptions,
): { filter(sample: ClipSample, seconds: number): ClipSample; reset(): void } {
  const E = expressionCount;
  const f = new OneEuroFilter(E + 18, options ?? DRIVE_SMOOTHING);
  const buf = new Float64Array(E + 18);
  return {
    filter(sample, seconds) {
      if (sample.expression.length !== E || sample.pose.length !== 15 || sample.translation.length !== 3)
        throw new Error(
          `createSampleFilter: sample needs ${E} expression, 15 pose and 3 translation numbers, got ${sample.expression.length}, ${sample.pose.length}, ${sample.translation.length}`,
        );
      buf.set(sample.expression, 0);
      buf.set(sample.pose, E);
      buf.set(sample.translation, E + 15);
      const y = f.filter(buf, seconds);
      return { expression: y.slice(0, E), pose: y.slice(E, E + 15), translation: y.slice(E + 15) };
    },
    reset: () => f.reset(),
  };
}
