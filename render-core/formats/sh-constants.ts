/** Degree-0 spherical-harmonics constant: colour = 0.5 + SH_C0 * f_dc (3DGS). */
export const SH_C0 = 0.28209479177387814;
