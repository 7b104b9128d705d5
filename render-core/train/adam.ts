/**
 * Adam (Kingma & Ba) over named flat parameter groups, each with its own
 * learning rate (3DGS trains means, scales, rotations, opacities and colours
 * at different rates). Updates the parameters in place.
 */
export interface AdamGroup {
  name: string;
  params: Float32Array | Float64Array;
  lr: number;
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
    const c1 = 1 - this.beta1 ** this.step,
      c2 = 1 - this.beta2 ** this.step;
    for (const g of this.groups) {
      const grad = grads[g.name];
      if (!grad) continue;
      if (grad.length !== g.params.length)
        throw new Error(`Adam.update: ${g.name} has ${g.params.length} parameters, got ${grad.length} gradients`);
      const m = this.m.get(g.name)!,
        v = this.v.get(g.name)!;
      for (let i = 0; i < grad.length; i++) {
        const d = grad[i]!;
        m[i] = this.beta1 * m[i]! + (1 - this.beta1) * d;
        v[i] = this.beta2 * v[i]! + (1 - this.beta2) * d * d;
        g.params[i]! -= (g.lr * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + this.eps);
      }
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
