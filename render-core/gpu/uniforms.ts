/**
 * Uniform structs defined once in TypeScript: the WGSL struct text and the
 * host-side packing come from the same field list (STYLE.md 5), so their
 * layouts cannot drift apart.
 */
import { BufferUsage } from "./flags";

export type UniformType = "u32" | "i32" | "f32" | "vec4f" | "mat4x4f";

const SIZE: Record<UniformType, number> = { u32: 4, i32: 4, f32: 4, vec4f: 16, mat4x4f: 64 };
const ALIGN: Record<UniformType, number> = { u32: 4, i32: 4, f32: 4, vec4f: 16, mat4x4f: 16 };
const WGSL_TYPE: Record<UniformType, string> = {
  u32: "u32",
  i32: "i32",
  f32: "f32",
  vec4f: "vec4<f32>",
  mat4x4f: "mat4x4<f32>",
};

export class UniformLayout<F extends string> {
  readonly offsets = {} as Record<F, number>;
  /** Struct size in bytes, rounded up to 16 as the uniform address space requires. */
  readonly size: number;
  /** `struct Name { ... }` text for WGSL. */
  readonly wgsl: string;

  constructor(
    readonly structName: string,
    readonly fields: ReadonlyArray<readonly [F, UniformType]>,
  ) {
    let off = 0;
    const lines: string[] = [];
    for (const [name, type] of fields) {
      off = Math.ceil(off / ALIGN[type]) * ALIGN[type];
      this.offsets[name] = off;
      off += SIZE[type];
      lines.push(`  ${name}: ${WGSL_TYPE[type]},`);
    }
    this.size = Math.ceil(off / 16) * 16;
    this.wgsl = `struct ${structName} {\n${lines.join("\n")}\n}`;
  }

  /** Packs values (matrices column-major, 16 numbers) into a new ArrayBuffer of `size` bytes. */
  pack(values: Record<F, number | ArrayLike<number>>): ArrayBuffer {
    const buf = new ArrayBuffer(this.size);
    const f32 = new Float32Array(buf);
    const u32 = new Uint32Array(buf);
    const i32 = new Int32Array(buf);
    for (const [name, type] of this.fields) {
      const v = values[name];
      const at = this.offsets[name] / 4;
      if (type === "vec4f" || type === "mat4x4f") {
        const n = SIZE[type] / 4;
        const arr = v as ArrayLike<number>;
        if (typeof v === "number" || arr.length !== n)
          throw new Error(`UniformLayout.pack: ${this.structName}.${name} needs ${n} numbers, got ${String(v)}`);
        for (let i = 0; i < n; i++) f32[at + i] = arr[i];
        continue;
      }
      if (typeof v !== "number" || !Number.isFinite(v))
        throw new Error(`UniformLayout.pack: ${this.structName}.${name} must be a finite number, got ${String(v)}`);
      if (type === "f32") f32[at] = v;
      else if (type === "u32") {
        if (!Number.isInteger(v) || v < 0)
          throw new Error(`UniformLayout.pack: ${this.structName}.${name} must be a u32, got ${v}`);
        u32[at] = v;
      } else i32[at] = v;
    }
    return buf;
  }

  /** A uniform buffer of this layout holding `values`. */
  createBuffer(device: GPUDevice, label: string, values?: Record<F, number | ArrayLike<number>>): GPUBuffer {
    const buffer = device.createBuffer({ label, size: this.size, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
    if (values) device.queue.writeBuffer(buffer, 0, this.pack(values));
    return buffer;
  }
}
