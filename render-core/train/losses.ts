/**
 * Image losses and their gradients, CPU twins (float64): L1 and D-SSIM with
 * the 11 x 11 Gaussian window (sigma 1.5) of the reference, zero-padded
 * "same" windows, C1 = 0.01^2, C2 = 0.03^2, averaged over pixels and
 * channels. Images are [H, W, C] row-major. Each loss returns its value and
 * d loss / d prediction.
 *
 * SSIM per pixel, with mu = G * x, E[x^2] = G * x^2, E[xy] = G * (x y):
 *   s = (2 mu_x mu_y + C1)(2 cov_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(var_x + var_y + C2))
 * Its gradient goes back through the three window sums: per pixel the
 * partials of s w.r.t. mu_x, E[x^2] and E[xy], each correlated with G.
 */
export const SSIM_WINDOW = 11;
export const SSIM_SIGMA = 1.5;
const C1 = 0.01 ** 2;
const C2 = 0.03 ** 2;
/** The SSIM constants, shared with the fast twin (dssim-fast.ts). */
export const SSIM_C1 = C1,
  SSIM_C2 = C2;

export interface LossResult {
  value: number;
  /** Same shape as the prediction. */
  grad: Float64Array;
}

export interface ImageShape {
  width: number;
  height: number;
  channels: number;
}

/** The normalised 1-D Gaussian of the SSIM window. */
export function gaussianWindow(size = SSIM_WINDOW, sigma = SSIM_SIGMA): Float64Array {
  const g = new Float64Array(size);
  const c = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) sum += g[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
  for (let i = 0; i < size; i++) g[i]! /= sum;
  return g;
}

/** Separable Gaussian correlation of one channel plane, zero-padded, same size. */
function blur(src: Float64Array, w: number, h: number, g: Float64Array): Float64Array {
  const r = (g.length - 1) / 2;
  const tmp = new Float64Array(w * h),
    out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++) if (x + k >= 0 && x + k < w) s += g[k + r]! * src[y * w + x + k]!;
      tmp[y * w + x] = s;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++) if (y + k >= 0 && y + k < h) s += g[k + r]! * tmp[(y + k) * w + x]!;
      out[y * w + x] = s;
    }
  }
  return out;
}

function checkShapes(owner: string, pred: ArrayLike<number>, target: ArrayLike<number>, shape: ImageShape): void {
  const n = shape.width * shape.height * shape.channels;
  if (pred.length !== n || target.length !== n)
    throw new Error(
      `${owner}: images must hold ${shape.width} x ${shape.height} x ${shape.channels} = ${n} numbers, got ${pred.length} and ${target.length}`,
    );
}

/** Mean absolute error; with a mask ([H, W], weights in [0, 1]) the mean is over the masked weight. */
export function l1Loss(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  shape: ImageShape,
  mask?: ArrayLike<number>,
): LossResult {
  checkShapes("l1Loss", pred, target, shape);
  const C = shape.channels,
    P = shape.width * shape.height;
  const grad = new Float64Array(P * C);
  let total = 0,
    weight = 0;
  for (let p = 0; p < P; p++) {
    const m = mask ? mask[p]! : 1;
    weight += m * C;
    for (let c = 0; c < C; c++) total += m * Math.abs(pred[p * C + c]! - target[p * C + c]!);
  }
  const norm = Math.max(weight, 1e-12);
  for (let p = 0; p < P; p++) {
    const m = mask ? mask[p]! : 1;
    for (let c = 0; c < C; c++) grad[p * C + c] = (m * Math.sign(pred[p * C + c]! - target[p * C + c]!)) / norm;
  }
  return { value: total / norm, grad };
}

/** D-SSIM = 1 - mean SSIM over pixels and channels. */
export function dssimLoss(pred: ArrayLike<number>, target: ArrayLike<number>, shape: ImageShape): LossResult {
  checkShapes("dssimLoss", pred, target, shape);
  const { width: W, height: H, channels: C } = shape;
  const P = W * H;
  const g = gaussianWindow();
  const grad = new Float64Array(P * C);
  let total = 0;
  for (let c = 0; c < C; c++) {
    const x = new Float64Array(P),
      y = new Float64Array(P);
    for (let p = 0; p < P; p++) {
      x[p] = pred[p * C + c]!;
      y[p] = target[p * C + c]!;
    }
    const xx = x.map((v) => v * v),
      yy = y.map((v) => v * v),
      xy = x.map((v, p) => v * y[p]!);
    const mx = blur(x, W, H, g),
      my = blur(y, W, H, g),
      ex2 = blur(xx, W, H, g),
      ey2 = blur(yy, W, H, g),
      exy = blur(xy, W, H, g);
    // Per-pixel partials of s w.r.t. mu_x, E[x^2], E[xy].
    const dMx = new Float64Array(P),
      dEx2 = new Float64Array(P),
      dExy = new Float64Array(P);
    for (let p = 0; p < P; p++) {
      const ux = mx[p]!,
        uy = my[p]!;
      const vx = ex2[p]! - ux * ux,
        vy = ey2[p]! - uy * uy,
        cxy = exy[p]! - ux * uy;
      const A1 = 2 * ux * uy + C1,
        A2 = 2 * cxy + C2,
        B1 = ux * ux + uy * uy + C1,
        B2 = vx + vy + C2;
      const s = (A1 * A2) / (B1 * B2);
      total += s;
      // dA1/dux = 2uy, dA2/dux = -2uy, dB1/dux = 2ux, dB2/dux = -2ux.
      dMx[p] = (2 * uy * A2 - 2 * uy * A1) / (B1 * B2) - (s * (2 * ux * B2 - 2 * ux * B1)) / (B1 * B2);
      dEx2[p] = -s / B2;
      dExy[p] = (2 * A1) / (B1 * B2);
    }
    // Back through the windows (the Gaussian is symmetric, so correlation is its own adjoint).
    const bMx = blur(dMx, W, H, g),
      bEx2 = blur(dEx2, W, H, g),
      bExy = blur(dExy, W, H, g);
    for (let p = 0; p < P; p++) grad[p * C + c] = -(bMx[p]! + 2 * x[p]! * bEx2[p]! + y[p]! * bExy[p]!) / (P * C);
  }
  return { value: 1 - total / (P * C), grad };
}

/** Per-pixel SSIM ([H, W], mean over channels) with the same window and constants as dssimLoss: for evaluation. */
export function ssimMap(pred: ArrayLike<number>, target: ArrayLike<number>, shape: ImageShape): Float64Array {
  checkShapes("ssimMap", pred, target, shape);
  const { width: W, height: H, channels: C } = shape;
  const P = W * H;
  const g = gaussianWindow();
  const out = new Float64Array(P);
  for (let c = 0; c < C; c++) {
    const x = new Float64Array(P),
      y = new Float64Array(P);
    for (let p = 0; p < P; p++) {
      x[p] = pred[p * C + c]!;
      y[p] = target[p * C + c]!;
    }
    const mx = blur(x, W, H, g),
      my = blur(y, W, H, g);
    const ex2 = blur(
        x.map((v) => v * v),
        W,
        H,
        g,
      ),
      ey2 = blur(
        y.map((v) => v * v),
        W,
        H,
        g,
      ),
      exy = blur(
        x.map((v, p) => v * y[p]!),
        W,
        H,
        g,
      );
    for (let p = 0; p < P; p++) {
      const ux = mx[p]!,
        uy = my[p]!;
      const s =
        ((2 * ux * uy + C1) * (2 * (exy[p]! - ux * uy) + C2)) /
        ((ux * ux + uy * uy + C1) * (ex2[p]! - ux * ux + ey2[p]! - uy * uy + C2));
      out[p] += s / C;
    }
  }
  return out;
}
