/**
 * Adam (Kingma & Ba) over named flat parameter groups, each with its own
 * learning rate (3DGS trains means, scales, rotations, opacities and colours
 * at different rates). Updates the parameters in place. CPU twin of
 * shaders/train/adam.wgsl.ts (host ./adam-gpu.ts): adamUpdate is the one
 * update rule both run.
 */
export interface AdamGroup {
  name: string;
  params: Float32Array | Float64Array;
  lr: number;
  /** Optional L2 pull: l2 * param is added to the gradient before the moments (default 0). */
  l2?: number;
}

export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Bias corrections 1 - beta^step of this update. */
  c1: number;
  c2: number;
  l2: number;
}

/** The bias corrections of update number `step` (1-based). */
export function adamCorrections(step: number, beta1: number, beta2: number): { c1: number; c2: number } {
  return { c1: 1 - beta1 ** step, c2: 1 - beta2 ** step };
}

/** One Adam update of params[i] for i < grad.length, in place (moments m, v updated too). */
export function adamUpdate(
  params: Float32Array | Float64Array,
  grad: ArrayLike<number>,
  m: Float32Array | Float64Array,
  v: Float32Array | Float64Array,
  h: AdamHyper,
): void {
  for (let i = 0; i < grad.length; i++) {
    const d = grad[i]! + h.l2 * params[i]!;
    m[i] = h.beta1 * m[i]! + (1 - h.beta1) * d;
    v[i] = h.beta2 * v[i]! + (1 - h.beta2) * d * d;
    params[i]! -= (h.lr * (m[i]! / h.c1)) / (Math.sqrt(v[i]! / h.c2) + h.eps);
  }
}

export class Adam {
  private readonly m = new Map<string, Float64Array>();
  private readonly v = new Map<string, Float64Array>();
  step = 0;

  constructor(
    readonly groups: AdamGroup[],
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly eps = 1e-15,
  ) {
    for (const g of groups) {
      this.m.set(g.name, new Float64Array(g.params.length));
      this.v.set(g.name, new Float64Array(g.params.length));
    }
  }

  /** One update from gradients by group name (same lengths as the parameters). */
  update(grads: Record<string, ArrayLike<number>>): void {
    this.step++;
    const { c1, c2 } = adamCorrections(this.step, this.beta1, this.beta2);
    for (const g of this.groups) {
      const grad = grads[g.name];
      if (!grad) continue;
      if (grad.length !== g.params.length)
        throw new Error(`Adam.update: ${g.name} has ${g.params.length} parameters, got ${grad.length} gradients`);
      adamUpdate(g.params, grad, this.m.get(g.name)!, this.v.get(g.name)!, {
        lr: g.lr,
        beta1: this.beta1,
        beta2: this.beta2,
        eps: this.eps,
        c1,
        c2,
        l2: g.l2 ?? 0,
      });
    }
  }

  /** Swaps a group's parameters for a new array (densification changes the point count); its moments restart at zero. */
  replaceGroup(name: string, params: Float32Array | Float64Array): void {
    const g = this.groups.find((x) => x.name === name);
    if (!g) throw new Error(`Adam.replaceGroup: no group "${name}"`);
    g.params = params;
    this.m.set(name, new Float64Array(params.length));
    this.v.set(name, new Float64Array(params.length));
  }

  /** The moments by group, for a checkpoint. */
  moments(): Record<string, { m: Float64Array; v: Float64Array }> {
    return Object.fromEntries(this.groups.map((g) => [g.name, { m: this.m.get(g.name)!, v: this.v.get(g.name)! }]));
  }

  /** Restores moments saved by moments() (a resumed run continues exactly). */
  restore(step: number, moments: Record<string, { m: Float64Array; v: Float64Array }>): void {
    for (const g of this.groups) {
      const s = moments[g.name];
      if (!s || s.m.length !== g.params.length || s.v.length !== g.params.length)
        throw new Error(`Adam.restore: moments of "${g.name}" missing or of the wrong size`);
      this.m.set(g.name, Float64Array.from(s.m));
      this.v.set(g.name, Float64Array.from(s.v));
    }
    this.step = step;
  }
}
