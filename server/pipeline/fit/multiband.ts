/**
 * Image pyramids for the UV texture (uv-texture.ts): the 5-tap binomial
 * reduce / expand of Burt & Adelson, a push-pull fill that extends an image
 * from the pixels it has into the pixels it lacks, and the multi-band blend
 * of several sources by masks (Burt & Adelson 1983: each band of the result
 * mixes the sources' bands by the masks blurred to that band's scale, so
 * colour steps melt over a wide seam while fine detail switches sharply).
 *
 * Images are f32, [H, W, C] interleaved; edges are clamped.
 */

/** The binomial kernel [1 4 6 4 1] / 16. */
const K = [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16];

export interface Plane {
  width: number;
  height: number;
  channels: number;
  /** [H, W, C] f32. */
  data: Float32Array;
}

function check(owner: string, p: Plane): void {
  if (!(p.width >= 1 && p.height >= 1 && p.channels >= 1) || p.data.length !== p.width * p.height * p.channels)
    throw new Error(
      `${owner}: a plane of ${p.width} x ${p.height} x ${p.channels} needs ${p.width * p.height * p.channels} numbers, got ${p.data.length}`,
    );
}

/** Blur with the binomial kernel and keep every second pixel: ceil(W / 2) x ceil(H / 2). */
export function reduce(p: Plane): Plane {
  const { width: W, height: H, channels: C, data } = p;
  const w = Math.ceil(W / 2),
    h = Math.ceil(H / 2);
  const tmp = new Float32Array(w * H * C);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < w; x++)
      for (let i = 0; i < 5; i++) {
        const sx = Math.min(W - 1, Math.max(0, 2 * x + i - 2));
        const src = (y * W + sx) * C,
          dst = (y * w + x) * C;
        for (let c = 0; c < C; c++) tmp[dst + c] += K[i] * data[src + c];
      }
  const out = new Float32Array(w * h * C);
  for (let y = 0; y < h; y++)
    for (let i = 0; i < 5; i++) {
      const sy = Math.min(H - 1, Math.max(0, 2 * y + i - 2));
      for (let x = 0; x < w; x++) {
        const src = (sy * w + x) * C,
          dst = (y * w + x) * C;
        for (let c = 0; c < C; c++) out[dst + c] += K[i] * tmp[src + c];
      }
    }
  return { width: w, height: h, channels: C, data: out };
}

/** Taps of the zero-inserted signal that land on a coarse sample, normalised (exact at edges). */
function expandTaps(n: number, coarse: number): { idx: Int32Array; wt: Float32Array } {
  const idx = new Int32Array(n * 3).fill(-1),
    wt = new Float32Array(n * 3);
  for (let x = 0; x < n; x++) {
    let k = 0,
      sum = 0;
    for (let i = 0; i < 5; i++) {
      const t = x + i - 2;
      if (t < 0 || t % 2 !== 0 || t / 2 >= coarse) continue;
      idx[x * 3 + k] = t / 2;
      wt[x * 3 + k] = K[i];
      sum += K[i];
      k++;
    }
    for (let j = 0; j < k; j++) wt[x * 3 + j] /= sum;
  }
  return { idx, wt };
}

/** Upsample a reduced plane back to width x height (interpolating with the same kernel). */
export function expand(p: Plane, width: number, height: number): Plane {
  const { width: w, height: h, channels: C, data } = p;
  if (Math.ceil(width / 2) !== w || Math.ceil(height / 2) !== h)
    throw new Error(`expand: a ${w} x ${h} plane does not reduce from ${width} x ${height}`);
  const tx = expandTaps(width, w),
    ty = expandTaps(height, h);
  const tmp = new Float32Array(width * h * C);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < width; x++)
      for (let j = 0; j < 3; j++) {
        const sx = tx.idx[x * 3 + j];
        if (sx < 0) break;
        const wgt = tx.wt[x * 3 + j],
          src = (y * w + sx) * C,
          dst = (y * width + x) * C;
        for (let c = 0; c < C; c++) tmp[dst + c] += wgt * data[src + c];
      }
  const out = new Float32Array(width * height * C);
  for (let y = 0; y < height; y++)
    for (let j = 0; j < 3; j++) {
      const sy = ty.idx[y * 3 + j];
      if (sy < 0) break;
      const wgt = ty.wt[y * 3 + j];
      for (let x = 0; x < width; x++) {
        const src = (sy * width + x) * C,
          dst = (y * width + x) * C;
        for (let c = 0; c < C; c++) out[dst + c] += wgt * tmp[src + c];
      }
    }
  return { width, height, channels: C, data: out };
}

/** How many levels a pyramid of this size gets: halve until the small side is at most `minSide`. */
export function pyramidLevels(width: number, height: number, minSide = 8): number {
  let n = 1,
    w = width,
    h = height;
  while (Math.min(w, h) > minSide) {
    w = Math.ceil(w / 2);
    h = Math.ceil(h / 2);
    n++;
  }
  return n;
}

/**
 * Fills the pixels an image lacks from the ones it has: `weight` [H, W] in
 * [0, 1] says how much each pixel is known (0: unknown). Weighted means are
 * pulled down a pyramid, then pushed back up; a known pixel keeps its value,
 * an unknown one takes the smooth extension of its surroundings. Returns a
 * new plane; `fallback` fills the image when no pixel is known.
 */
export function pushPullFill(p: Plane, weight: Float32Array, fallback?: ArrayLike<number>): Plane {
  check("pushPullFill", p);
  const { width: W, height: H, channels: C } = p;
  if (weight.length !== W * H) throw new Error(`pushPullFill: weight needs ${W * H} values, got ${weight.length}`);
  // Pull: premultiplied colour and weight, one more channel.
  const levels: Plane[] = [];
  const first = new Float32Array(W * H * (C + 1));
  let any = false;
  for (let i = 0; i < W * H; i++) {
    const w = Math.min(1, Math.max(0, weight[i]));
    if (w > 0) any = true;
    for (let c = 0; c < C; c++) first[i * (C + 1) + c] = p.data[i * C + c] * w;
    first[i * (C + 1) + C] = w;
  }
  if (!any) {
    if (!fallback || fallback.length !== C)
      throw new Error(`pushPullFill: no pixel is known and no fallback of ${C} values was given`);
    const data = new Float32Array(W * H * C);
    for (let i = 0; i < W * H; i++) for (let c = 0; c < C; c++) data[i * C + c] = fallback[c];
    return { width: W, height: H, channels: C, data };
  }
  levels.push({ width: W, height: H, channels: C + 1, data: first });
  while (levels[levels.length - 1].width > 1 || levels[levels.length - 1].height > 1)
    levels.push(reduce(levels[levels.length - 1]));
  // Push: from the top, each level's known share keeps its mean, the rest comes from the level above.
  let filled: Plane | null = null;
  for (let l = levels.length - 1; l >= 0; l--) {
    const lv = levels[l];
    const n = lv.width * lv.height;
    const out = new Float32Array(n * C);
    const up = filled ? expand(filled, lv.width, lv.height) : null;
    for (let i = 0; i < n; i++) {
      const w = lv.data[i * (C + 1) + C];
      // A pulled weight of 1 means fully known at this scale; a small one leans on the coarser level.
      const a = up ? Math.min(1, w) : 1;
      for (let c = 0; c < C; c++) {
        const mean = w > 1e-8 ? lv.data[i * (C + 1) + c] / w : 0;
        out[i * C + c] = a * mean + (1 - a) * (up ? up.data[i * C + c] : 0);
      }
    }
    filled = { width: lv.width, height: lv.height, channels: C, data: out };
  }
  return filled!;
}

/**
 * Multi-band blend: sources [H, W, C] mixed by masks [H, W] (non-negative;
 * per pixel they need not sum to 1). Band l of the result is
 * sum_i G_l(mask_i) L_l(source_i) / sum_i G_l(mask_i), with L the Laplacian
 * and G the Gaussian pyramid; `levels` defaults to halving down to 8 px.
 */
export function multibandBlend(sources: Plane[], masks: Float32Array[], levels?: number): Plane {
  if (sources.length === 0 || sources.length !== masks.length)
    throw new Error(
      `multibandBlend: need one mask per source, got ${sources.length} sources and ${masks.length} masks`,
    );
  const { width: W, height: H, channels: C } = sources[0];
  sources.forEach((s, i) => {
    check(`multibandBlend: source ${i}`, s);
    if (s.width !== W || s.height !== H || s.channels !== C)
      throw new Error(
        `multibandBlend: source ${i} is ${s.width} x ${s.height} x ${s.channels}, source 0 ${W} x ${H} x ${C}`,
      );
    if (masks[i].length !== W * H)
      throw new Error(`multibandBlend: mask ${i} needs ${W * H} values, got ${masks[i].length}`);
  });
  const n = levels ?? pyramidLevels(W, H);
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`multibandBlend: levels must be a whole number >= 1, got ${n}`);
  // Band by band from the top, collapsing as we go, so only one Laplacian level per source is held at a time.
  const gauss = sources.map((s) => {
    const g: Plane[] = [s];
    for (let l = 1; l < n; l++) g.push(reduce(g[l - 1]));
    return g;
  });
  const maskPyr = masks.map((m) => {
    const g: Plane[] = [{ width: W, height: H, channels: 1, data: m }];
    for (let l = 1; l < n; l++) g.push(reduce(g[l - 1]));
    return g;
  });
  let result: Plane | null = null;
  for (let l = n - 1; l >= 0; l--) {
    const { width: w, height: h } = gauss[0][l];
    const band = new Float32Array(w * h * C),
      norm = new Float32Array(w * h);
    for (let i = 0; i < sources.length; i++) {
      const g = gauss[i][l];
      const lap = l < n - 1 ? expand(gauss[i][l + 1], w, h).data : null;
      const m = maskPyr[i][l].data;
      for (let p = 0; p < w * h; p++) {
        const mw = m[p];
        if (mw <= 0) continue;
        norm[p] += mw;
        for (let c = 0; c < C; c++) band[p * C + c] += mw * (g.data[p * C + c] - (lap ? lap[p * C + c] : 0));
      }
    }
    const up = result ? expand(result, w, h).data : null;
    for (let p = 0; p < w * h; p++) {
      const s = norm[p] > 1e-12 ? 1 / norm[p] : 0;
      for (let c = 0; c < C; c++) band[p * C + c] = band[p * C + c] * s + (up ? up[p * C + c] : 0);
    }
    result = { width: w, height: h, channels: C, data: band };
  }
  return result!;
}
