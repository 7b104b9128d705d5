/**
 * Grid snippet. Defines linearGroup(wg, nwg): the linear workgroup index of a
 * grid split over x and y (dispatches past 65535 workgroups). Reads nothing.
 */
export const GRID_WGSL = /* wgsl */ `
fn linearGroup(wg: vec3<u32>, nwg: vec3<u32>) -> u32 { return wg.x + wg.y * nwg.x; }
`;

/**
 * Workgroup scan snippet. Defines wgExclusiveScan(t, x) -> vec2(exclusive, total)
 * over the WG threads of a workgroup (Hillis-Steele in shared memory).
 * Reads constant WG; declares var<workgroup> wgScanBuf. Must be called in
 * uniform control flow by every thread.
 */
export const WG_SCAN_WGSL = /* wgsl */ `
var<workgroup> wgScanBuf: array<u32, WG>;

fn wgExclusiveScan(t: u32, x: u32) -> vec2<u32> {
  wgScanBuf[t] = x;
  workgroupBarrier();
  for (var off = 1u; off < WG; off = off * 2u) {
    var y = 0u;
    if (t >= off) { y = wgScanBuf[t - off]; }
    workgroupBarrier();
    wgScanBuf[t] = wgScanBuf[t] + y;
    workgroupBarrier();
  }
  let inclusive = wgScanBuf[t];
  let total = wgScanBuf[WG - 1u];
  workgroupBarrier();
  return vec2<u32>(inclusive - x, total);
}
`;
