/**
 * The per-Gaussian appearance residual in training, forward and backward
 * (the runtime's forward is addAppearanceCpu in ../avatar/bake.cpu.ts):
 *
 *   geomRaw[i, k] = geometry(PE(p_i) | cond)[k] + appearance[i, k]    k = 0..2, the colour logits
 *
 * The sum is linear, so dLoss/dAppearance[i, k] = dLoss/dGeomRaw[i, k]: in a
 * batch, the geometry output's gradient already summed over the frames.
 */
import { addAppearanceCpu } from "../avatar/bake.cpu";
import { APPEARANCE_CHANNELS, APPEARANCE_OUTPUTS } from "../avatar/networks";

/** geomRaw [N, 11] with the residual [N, 3] added (a copy; the network's own output stays as its tape left it). */
export function appearanceForward(geomRaw: Float64Array, appearance: ArrayLike<number> | undefined): Float64Array {
  if (!appearance) return geomRaw;
  const out = Float64Array.from(geomRaw);
  addAppearanceCpu(out, appearance);
  return out;
}

/** dLoss/dAppearance [N, 3] from dLoss/dGeomRaw [N, 11]. */
export function appearanceBackward(dGeomRaw: ArrayLike<number>): Float64Array {
  const N = dGeomRaw.length / APPEARANCE_OUTPUTS;
  if (!Number.isInteger(N))
    throw new Error(`appearanceBackward: dGeomRaw must be [N, ${APPEARANCE_OUTPUTS}], got ${dGeomRaw.length} numbers`);
  const out = new Float64Array(N * APPEARANCE_CHANNELS);
  for (let i = 0; i < N; i++)
    for (let k = 0; k < APPEARANCE_CHANNELS; k++)
      out[i * APPEARANCE_CHANNELS + k] = Number(dGeomRaw[i * APPEARANCE_OUTPUTS + k]);
  return out;
}
