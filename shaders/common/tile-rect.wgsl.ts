/**
 * Tile-rectangle snippet, shared by projection (to count tiles) and
 * intersection emission (to list them), so the two always agree.
 * Defines tileRect(center, radius, tilesX, tilesY) -> vec4<u32>
 * (minX, minY, maxX, maxY), max exclusive, clamped to the tile grid.
 * Reads constant TILE.
 */
export const TILE_RECT_WGSL = /* wgsl */ `
fn tileRect(center: vec2<f32>, radius: f32, tilesX: u32, tilesY: u32) -> vec4<u32> {
  let t = f32(TILE);
  let lo = floor((center - vec2<f32>(radius)) / t);
  let hi = floor((center + vec2<f32>(radius + t - 1.0)) / t);
  let mx = vec2<f32>(f32(tilesX), f32(tilesY));
  let a = clamp(lo, vec2<f32>(0.0), mx);
  let b = clamp(hi, vec2<f32>(0.0), mx);
  return vec4<u32>(u32(a.x), u32(a.y), u32(b.x), u32(b.y));
}
`;
