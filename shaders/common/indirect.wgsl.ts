/**
 * prepareSizes: runs a tiny "size program" on the GPU so that passes whose
 * element counts are only known on the GPU (intersections) can be dispatched
 * indirectly, with no readback.
 *
 * Steps (one thread, ops in order):
 *   op.x = 0: sizes[dst] = ceil(sizes[src] / k)
 *   op.x = 1: sizes[dst] = sizes[src] * k
 *   op.x = 2: sizes[dst] = min(sizes[src], k)
 *   op.x = 3: args[dst] = grid of ceil(sizes[src] / k) workgroups, split over y past MAX_GROUPS_X
 *
 * Bindings:
 *   0 program  read-only storage  [P] vec4<u32>  (kind, dst, src, k)
 *   1 sizes    storage            [S] u32
 *   2 args     storage            [A, 3] u32     indirect dispatch grids
 *
 * Reads: constant MAX_GROUPS_X. Kernels dispatched from these args rebuild
 * their linear workgroup id with linearGroup() (common/grid.wgsl.ts).
 */
export const INDIRECT_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> program: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> sizes: array<u32>;
@group(0) @binding(2) var<storage, read_write> args: array<u32>;

fn ceilDiv(a: u32, b: u32) -> u32 { return (a + b - 1u) / b; }

@compute @workgroup_size(1)
fn prepareSizes() {
  let count = arrayLength(&program);
  for (var i = 0u; i < count; i++) {
    let op = program[i];
    let v = sizes[op.z];
    switch op.x {
      case 0u: { sizes[op.y] = ceilDiv(v, op.w); }
      case 1u: { sizes[op.y] = v * op.w; }
      case 2u: { sizes[op.y] = min(v, op.w); }
      default: {
        let groups = ceilDiv(v, op.w);
        var gx = groups;
        var gy = 1u;
        if (groups > MAX_GROUPS_X) { gx = MAX_GROUPS_X; gy = ceilDiv(groups, MAX_GROUPS_X); }
        args[op.y * 3u] = gx;
        args[op.y * 3u + 1u] = gy;
        args[op.y * 3u + 2u] = 1u;
      }
    }
  }
}
`;
