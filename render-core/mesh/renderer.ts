/**
 * WebGPU mesh renderer for the synthetic dataset (shaders/mesh/mesh.wgsl.ts;
 * CPU twin ./render.cpu.ts): draws a list of meshes into a colour + coverage
 * target and a parsing-class target, and reads the frame back. Opaque draws
 * first, then blended ones (colour pass, then class pass). The device is
 * passed in; per-draw buffers live for one render() call, textures stay
 * uploaded while their MeshTexture object is among the last few used.
 */
import { MESH_WGSL } from "../../shaders/mesh/mesh.wgsl";
import { BufferUsage, ShaderStage, TextureUsage } from "../gpu/flags";
import { createBufferFrom } from "../gpu/buffers";
import { readBuffer } from "../gpu/readback";
import { UniformLayout } from "../gpu/uniforms";
import type { Camera } from "../math/camera";
import { cameraCenter } from "../math/camera";
import type { MeshRenderOptions } from "./render.cpu";
import { shMonomialWeights } from "../light/sh";
import {
  STUDIO_LIGHTS,
  checkMeshDraws,
  checkMeshLights,
  drawOrder,
  isBlended,
  type MeshDraw,
  type MeshFrame,
  type MeshTexture,
} from "./scene";

export const MESH_FRAME_PARAMS = new UniformLayout("MeshFrameParams", [
  ["w2c0", "vec4f"],
  ["w2c1", "vec4f"],
  ["w2c2", "vec4f"],
  ["eye", "vec4f"],
  ["keyDir", "vec4f"],
  ["fillDir", "vec4f"],
  ["fx", "f32"],
  ["fy", "f32"],
  ["cx", "f32"],
  ["cy", "f32"],
  ["width", "f32"],
  ["height", "f32"],
  ["near", "f32"],
  ["far", "f32"],
  ["ambient", "f32"],
  ["hasSh", "u32"],
  // The SH9 light per monomial (shMonomialWeights), rgb in xyz, w unused.
  ["sh0", "vec4f"],
  ["sh1", "vec4f"],
  ["sh2", "vec4f"],
  ["sh3", "vec4f"],
  ["sh4", "vec4f"],
  ["sh5", "vec4f"],
  ["sh6", "vec4f"],
  ["sh7", "vec4f"],
  ["sh8", "vec4f"],
] as const);

export const MESH_DRAW_PARAMS = new UniformLayout("MeshDrawParams", [
  ["specular", "f32"],
  ["shininess", "f32"],
  ["opacity", "f32"],
  ["hasTexture", "u32"],
  ["blend", "u32"],
  ["blended", "u32"],
  ["classId", "u32"],
  ["parsePass", "u32"],
] as const);

const COLOR_FORMAT: GPUTextureFormat = "rgba16float";
/** Textures kept uploaded between renders (a dataset renders one head texture; attributes bring a few more). */
const TEXTURE_CACHE = 8;
const PARSE_FORMAT: GPUTextureFormat = "r8uint";
const DEPTH_FORMAT: GPUTextureFormat = "depth32float";

/** IEEE half to float (the colour target is rgba16float). */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1,
    e = (h >> 10) & 0x1f,
    f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

export class GpuMeshRenderer {
  private readonly pipelines: {
    opaque: GPURenderPipeline;
    blendColor: GPURenderPipeline;
    blendParse: GPURenderPipeline;
  };
  private readonly frameLayout: GPUBindGroupLayout;
  private readonly drawLayout: GPUBindGroupLayout;
  private readonly sampler: GPUSampler;
  private readonly white: GPUTexture;
  /** Uploaded textures by their MeshTexture object: a head's draws and a video's frames share one (LRU, a few). */
  private readonly textures = new Map<MeshTexture, GPUTexture>();

  constructor(readonly device: GPUDevice) {
    const module = device.createShaderModule({
      label: "mesh",
      code: `${MESH_FRAME_PARAMS.wgsl}\n${MESH_DRAW_PARAMS.wgsl}\n${MESH_WGSL}`,
    });
    const vis = ShaderStage.VERTEX | ShaderStage.FRAGMENT;
    this.frameLayout = device.createBindGroupLayout({
      label: "mesh.frame",
      entries: [{ binding: 0, visibility: vis, buffer: { type: "uniform" } }],
    });
    this.drawLayout = device.createBindGroupLayout({
      label: "mesh.draw",
      entries: [
        { binding: 0, visibility: vis, buffer: { type: "uniform" } },
        { binding: 1, visibility: ShaderStage.FRAGMENT, texture: { sampleType: "float" } },
        { binding: 2, visibility: ShaderStage.FRAGMENT, sampler: { type: "filtering" } },
      ],
    });
    const layout = device.createPipelineLayout({ bindGroupLayouts: [this.frameLayout, this.drawLayout] });
    const attr = (location: number, format: GPUVertexFormat, stride: number): GPUVertexBufferLayout => ({
      arrayStride: stride,
      attributes: [{ shaderLocation: location, offset: 0, format }],
    });
    const vertex: GPUVertexState = {
      module,
      entryPoint: "meshVertex",
      buffers: [attr(0, "float32x3", 12), attr(1, "float32x3", 12), attr(2, "float32x2", 8), attr(3, "float32x3", 12)],
    };
    const over: GPUBlendState = {
      color: { srcFactor: "src-alpha", dstFactor: "one-minus-src-alpha", operation: "add" },
      alpha: { srcFactor: "one", dstFactor: "one-minus-src-alpha", operation: "add" },
    };
    const make = (
      label: string,
      blend: GPUBlendState | undefined,
      colorMask: number,
      parseMask: number,
      depthWrite: boolean,
    ) =>
      device.createRenderPipeline({
        label,
        layout,
        vertex,
        fragment: {
          module,
          entryPoint: "meshFragment",
          targets: [
            { format: COLOR_FORMAT, blend, writeMask: colorMask },
            { format: PARSE_FORMAT, writeMask: parseMask },
          ],
        },
        primitive: { topology: "triangle-list", cullMode: "none" },
        depthStencil: { format: DEPTH_FORMAT, depthWriteEnabled: depthWrite, depthCompare: "less" },
      });
    this.pipelines = {
      opaque: make("mesh.opaque", undefined, 0xf, 0xf, true),
      blendColor: make("mesh.blendColor", over, 0xf, 0, false),
      blendParse: make("mesh.blendParse", undefined, 0, 0xf, false),
    };
    this.sampler = device.createSampler({
      magFilter: "linear",
      minFilter: "linear",
      addressModeU: "clamp-to-edge",
      addressModeV: "clamp-to-edge",
    });
    this.white = this.texture(1, 1, new Uint8Array([255, 255, 255, 255]));
  }

  private texture(width: number, height: number, data: Uint8Array): GPUTexture {
    const t = this.device.createTexture({
      size: [width, height],
      format: "rgba8unorm",
      usage: TextureUsage.TEXTURE_BINDING | TextureUsage.COPY_DST,
    });
    this.device.queue.writeTexture({ texture: t }, data as Uint8Array<ArrayBuffer>, { bytesPerRow: width * 4 }, [
      width,
      height,
    ]);
    return t;
  }

  /** The GPU copy of a texture, uploaded once per object (the data must not change while the object is in use). */
  private cachedTexture(t: MeshTexture): GPUTexture {
    let tex = this.textures.get(t);
    if (tex) {
      this.textures.delete(t);
      this.textures.set(t, tex);
      return tex;
    }
    tex = this.texture(t.width, t.height, t.data);
    this.textures.set(t, tex);
    while (this.textures.size > TEXTURE_CACHE) {
      const [oldest, gpu] = this.textures.entries().next().value!;
      this.textures.delete(oldest);
      gpu.destroy();
    }
    return tex;
  }

  async render(draws: readonly MeshDraw[], camera: Camera, options: MeshRenderOptions = {}): Promise<MeshFrame> {
    checkMeshDraws(draws, "GpuMeshRenderer.render");
    const { device } = this;
    const { width: W, height: H } = camera;
    const L = options.lights ?? STUDIO_LIGHTS;
    checkMeshLights(L, "GpuMeshRenderer.render");
    const sh = L.sh ? shMonomialWeights(L.sh) : new Float32Array(27);
    const shVec = (k: number) => [sh[k * 3]!, sh[k * 3 + 1]!, sh[k * 3 + 2]!, 0];
    const bg = options.background ?? [0, 0, 0];
    const m = camera.worldToCamera;
    const eye = cameraCenter(m);
    const owned: Array<GPUBuffer | GPUTexture> = [];
    const frameBuf = MESH_FRAME_PARAMS.createBuffer(device, "mesh.frameParams", {
      w2c0: [m[0]!, m[1]!, m[2]!, m[3]!],
      w2c1: [m[4]!, m[5]!, m[6]!, m[7]!],
      w2c2: [m[8]!, m[9]!, m[10]!, m[11]!],
      eye: [eye[0], eye[1], eye[2], 1],
      keyDir: [...L.keyDir, L.key],
      fillDir: [...L.fillDir, L.fill],
      fx: camera.fx,
      fy: camera.fy,
      cx: camera.cx,
      cy: camera.cy,
      width: W,
      height: H,
      near: camera.near,
      far: camera.far,
      ambient: L.ambient,
      hasSh: L.sh ? 1 : 0,
      sh0: shVec(0),
      sh1: shVec(1),
      sh2: shVec(2),
      sh3: shVec(3),
      sh4: shVec(4),
      sh5: shVec(5),
      sh6: shVec(6),
      sh7: shVec(7),
      sh8: shVec(8),
    });
    owned.push(frameBuf);
    const frameGroup = device.createBindGroup({
      layout: this.frameLayout,
      entries: [{ binding: 0, resource: { buffer: frameBuf } }],
    });
    const color = device.createTexture({
      size: [W, H],
      format: COLOR_FORMAT,
      usage: TextureUsage.RENDER_ATTACHMENT | TextureUsage.COPY_SRC,
    });
    const parse = device.createTexture({
      size: [W, H],
      format: PARSE_FORMAT,
      usage: TextureUsage.RENDER_ATTACHMENT | TextureUsage.COPY_SRC,
    });
    const depth = device.createTexture({ size: [W, H], format: DEPTH_FORMAT, usage: TextureUsage.RENDER_ATTACHMENT });
    owned.push(color, parse, depth);
    const encoder = device.createCommandEncoder({ label: "mesh.render" });
    const pass = encoder.beginRenderPass({
      colorAttachments: [
        {
          view: color.createView(),
          clearValue: { r: bg[0], g: bg[1], b: bg[2], a: 0 },
          loadOp: "clear",
          storeOp: "store",
        },
        { view: parse.createView(), clearValue: { r: 0, g: 0, b: 0, a: 0 }, loadOp: "clear", storeOp: "store" },
      ],
      depthStencilAttachment: {
        view: depth.createView(),
        depthClearValue: 1,
        depthLoadOp: "clear",
        depthStoreOp: "discard",
      },
    });
    pass.setBindGroup(0, frameGroup);
    for (const k of drawOrder(draws)) {
      const d = draws[k]!;
      const V = d.positions.length / 3;
      const vbuf = (data: Float32Array) => {
        const b = createBufferFrom(device, "mesh.vertices", data, BufferUsage.VERTEX);
        owned.push(b);
        return b;
      };
      const index = createBufferFrom(device, "mesh.indices", d.indices, BufferUsage.INDEX);
      owned.push(index);
      const tex = d.texture ? this.cachedTexture(d.texture) : this.white;
      const buffers = [
        vbuf(d.positions),
        vbuf(d.normals),
        vbuf(d.uvs ?? new Float32Array(V * 2)),
        // Without colours: a texture is untinted (1), an untextured mesh is grey.
        vbuf(d.colors ?? new Float32Array(V * 3).fill(d.texture ? 1 : 0.6)),
      ];
      buffers.forEach((b, slot) => pass.setVertexBuffer(slot, b));
      pass.setIndexBuffer(index, "uint32");
      const blended = isBlended(d);
      const passes: Array<[GPURenderPipeline, number]> = blended
        ? [
            [this.pipelines.blendColor, 0],
            [this.pipelines.blendParse, 1],
          ]
        : [[this.pipelines.opaque, 0]];
      for (const [pipeline, parsePass] of passes) {
        const params = MESH_DRAW_PARAMS.createBuffer(device, "mesh.drawParams", {
          specular: d.material.specular,
          shininess: d.material.shininess,
          opacity: d.material.opacity,
          hasTexture: d.texture ? 1 : 0,
          blend: d.material.blend ? 1 : 0,
          blended: blended ? 1 : 0,
          classId: d.classId,
          parsePass,
        });
        owned.push(params);
        const group = device.createBindGroup({
          layout: this.drawLayout,
          entries: [
            { binding: 0, resource: { buffer: params } },
            { binding: 1, resource: tex.createView() },
            { binding: 2, resource: this.sampler },
          ],
        });
        pass.setPipeline(pipeline);
        pass.setBindGroup(1, group);
        pass.drawIndexed(d.indices.length);
      }
    }
    pass.end();
    const colorRow = Math.ceil((W * 8) / 256) * 256,
      parseRow = Math.ceil(W / 256) * 256;
    const colorOut = device.createBuffer({ size: colorRow * H, usage: BufferUsage.COPY_DST | BufferUsage.COPY_SRC });
    const parseOut = device.createBuffer({ size: parseRow * H, usage: BufferUsage.COPY_DST | BufferUsage.COPY_SRC });
    owned.push(colorOut, parseOut);
    encoder.copyTextureToBuffer({ texture: color }, { buffer: colorOut, bytesPerRow: colorRow }, [W, H]);
    encoder.copyTextureToBuffer({ texture: parse }, { buffer: parseOut, bytesPerRow: parseRow }, [W, H]);
    device.queue.submit([encoder.finish()]);
    try {
      const halves = new Uint16Array(await readBuffer(device, colorOut));
      const classes = new Uint8Array(await readBuffer(device, parseOut));
      const frame: MeshFrame = {
        width: W,
        height: H,
        rgb: new Float32Array(W * H * 3),
        mask: new Float32Array(W * H),
        parse: new Uint8Array(W * H),
      };
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const p = y * W + x,
            o = (y * colorRow) / 2 + x * 4;
          for (let c = 0; c < 3; c++) frame.rgb[p * 3 + c] = halfToFloat(halves[o + c]!);
          frame.mask[p] = halfToFloat(halves[o + 3]!);
          frame.parse[p] = classes[y * parseRow + x]!;
        }
      }
      return frame;
    } finally {
      for (const o of owned) o.destroy();
    }
  }

  destroy(): void {
    this.white.destroy();
    for (const t of this.textures.values()) t.destroy();
    this.textures.clear();
  }
}
