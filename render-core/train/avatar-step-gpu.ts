/**
 * The avatar's training step on the GPU: the state (points, the three
 * networks, the latent table, the optional per-Gaussian colour residual and
 * Adam's moments) lives in GPU buffers, and one step (a few batches of frames,
 * each batch under one latent mix: forward, loss, backward, Adam) is ONE
 * command buffer. Nothing is read back but the loss records, every
 * `lossEvery` steps. CPU twin: ./avatar-step.ts avatarTrainBatch (the trainer's
 * reference; the gradients agree within 1e-3 of each field's largest, see the test).
 *
 * One forward per operation, its backward beside it (forward kernel -> backward kernel):
 *   peFwd -> peBwd (heads-grad)                  mlpLayer (runtime) -> mlpLayerBwd* (mlp-grad), with mlpFold/mlpUnfold
 *   addAppearance (runtime) -> appearanceBwd      bakeRig (runtime) -> bakeRigBwd (bake-grad)
 *   deformRig (runtime) -> deformRigBwd (rig-grad) composeAppearance (runtime) -> composeAppearanceBwd (heads-grad)
 *   projectFwd, sort, rasterizeFwd (GpuSplatRenderer) -> rasterizeBwd, projectBwd
 *   blurPlanes, ssimPartials (losses) -> lossGrad  latentCond -> latentScatter (latents)
 *   adamStep (adam)
 *
 * A step, per batch j (its conditioning from the latent table), per frame k:
 *   deform -> gaussian net -> compose -> render (slot j, k) -> loss -> rasterizeBwd -> projectBwd
 *   -> composeAppearanceBwd -> gaussian net backward -> deformRigBwd (summed over the batch's frames)
 * then the batch's bake, deformer and geometry backward, and the conditioning's gradient to the table.
 * Every frame of a step has its own slot (renderer, uniforms, target), since queue writes land before
 * the command buffer runs.
 */
import { STORAGE_RW, createBuffer } from "../gpu/buffers";
import type { Kernel } from "../gpu/kernel";
import { Readback, readBuffer } from "../gpu/readback";
import { avatarSpecs, type AvatarWeights } from "../avatar/avatar";
import { REST_STRIDE } from "../avatar/bake.cpu";
import { conditioningSize, positionalEncodingSize, type AvatarModelConfig } from "../avatar/config";
import { APPEARANCE_CHANNELS, APPEARANCE_OUTPUTS, deformerOutputs } from "../avatar/networks";
import { RIG_PARAMS, RIG_WG } from "../avatar/runtime-gpu";
import { frameSize } from "../avatar/rig";
import { mlpParamCount } from "../avatar/mlp";
import { GpuSplatRenderer } from "../raster/renderer";
import { GpuAdam } from "./adam-gpu";
import { readLossRecords, stepKernels, type LossWindow, type StepKernels } from "./avatar-step-gpu-kernels";
import { BindCache, dispatchThreads } from "./bind-cache";
import { HEADS_GRAD_PARAMS, HEADS_WG } from "./heads-grad-gpu";
import { LATENTS_WG } from "./latents-gpu";
import { checkMix, packMix, type LatentMix } from "./latent-mix";
import { GpuImageLoss, LOSS_RECORD, type LossSlot } from "./losses-gpu";
import { GpuMlpTrain } from "./mlp-grad-gpu";
import { PROJECT_GRAD_PARAMS, PROJECT_GRAD_WG, packProjectGradParams } from "./project-grad-gpu";
import { RASTER_GRAD_PARAMS, encodeRasterizeBwd, packRasterGradParams } from "./raster-grad-gpu";
import { RIG_GRAD_PARAMS, RIG_GRAD_WG, rigGradStride } from "./rig-grad-gpu";
import type { StepTarget } from "./avatar-step";

export interface GpuTrainState {
  config: AvatarModelConfig;
  count: number;
  /** [N, 3] canonical points. */
  points: ArrayLike<number>;
  weights: Record<keyof AvatarWeights, ArrayLike<number>>;
  /** [R, L] latent rows; each batch mixes them into its [C, L] latents (latent-mix.ts). */
  latentTable: ArrayLike<number>;
  /** [N, 3] per-Gaussian colour residual on the geometry output's colour logits (appearance-grad.ts); absent: none. */
  appearance?: ArrayLike<number>;
  /** [N, E * 3 + J] head priors (avatarPriors) and [J, 12] canonical joint transforms (bakeFrame): fixed. */
  prior: ArrayLike<number>;
  canonA: ArrayLike<number>;
}

export interface GpuAvatarTrainerOptions {
  /** Every target's image size (px). */
  width: number;
  height: number;
  /** The most frames in a batch and batches in a step: one frame slot (renderer, target, uniforms) each. */
  framesPerBatch: number;
  batchesPerStep: number;
  /** Loss records are read back every this many steps (default 10). */
  lossEvery?: number;
  /** Intersection slots per Gaussian the renderers start with (default 8); checked and grown at each read-back. */
  isectsPerSplat?: number;
  /** Adam groups over the latent table's rows (default one, "latents", over all of them). */
  latentGroups?: Array<{ name: string; row: number; rows: number }>;
  adam?: { beta1?: number; beta2?: number; eps?: number };
}

/** A batch: frames under one latent mix (at most framesPerBatch, of the trainer's image size). */
export interface GpuBatch {
  targets: StepTarget[];
  mix: LatentMix;
}

/** One step's losses, read back: per batch the mean loss over its frames, and each frame's loss and PSNR. */
export interface GpuStepLosses {
  step: number;
  batches: Array<{ loss: number; losses: number[]; psnr: number[] }>;
}

/** Learning rate (and L2 pull) per Adam group; groups left out are not updated this step. */
export type GpuLearningRates = Record<string, { lr: number; l2?: number }>;

interface FrameSlot {
  renderer: GpuSplatRenderer;
  gaussians: GPUBuffer;
  frame: GPUBuffer;
  target: GPUBuffer;
  mask: GPUBuffer;
  loss: LossSlot;
  projParams: GPUBuffer;
  rasterParams: GPUBuffer;
}

interface BatchSlot {
  mix: GPUBuffer;
  cond: GPUBuffer;
  dCond: GPUBuffer;
}

type Nets = Record<keyof AvatarWeights, GpuMlpTrain>;
const NETS = ["geometry", "deformer", "gaussian"] as const;

export class GpuAvatarTrainer {
  readonly config: AvatarModelConfig;
  readonly count: number;
  readonly adam: GpuAdam;
  readonly lossEvery: number;
  /** Steps encoded so far. */
  steps = 0;
  private readonly nets: Nets;
  private readonly b: Record<string, GPUBuffer> = {};
  private readonly owned: GPUBuffer[] = [];
  private readonly frames: FrameSlot[] = [];
  private readonly batches: BatchSlot[] = [];
  private readonly loss: GpuImageLoss;
  private readonly binds = new BindCache();
  private readonly readback: Readback;
  private readonly k: StepKernels;
  private readonly rows: number;
  /** Per step of the current read-back window: per batch, per frame, the weights that turn a record into a loss. */
  private window: LossWindow = [];

  constructor(
    readonly device: GPUDevice,
    state: GpuTrainState,
    readonly options: GpuAvatarTrainerOptions,
  ) {
    const owner = "GpuAvatarTrainer";
    const { config, count: N } = state;
    this.config = config;
    this.count = N;
    this.lossEvery = options.lossEvery ?? 10;
    const C = config.categories.length,
      L = config.latentDim,
      S = conditioningSize(config);
    this.rows = state.latentTable.length / L;
    for (const [name, v] of [
      ["count", N],
      ["framesPerBatch", options.framesPerBatch],
      ["batchesPerStep", options.batchesPerStep],
      ["lossEvery", this.lossEvery],
      ["width", options.width],
      ["height", options.height],
      ["latent rows", this.rows],
    ] as const)
      if (!Number.isInteger(v) || v < 1) throw new Error(`${owner}: ${name} must be a positive integer, got ${v}`);
    const specs = avatarSpecs(config);
    const need = (name: string, a: ArrayLike<number>, n: number) => {
      if (a.length !== n) throw new Error(`${owner}: ${name} holds ${a.length} numbers, expected ${n}`);
    };
    need("points", state.points, N * 3);
    for (const n of NETS) need(`weights.${n}`, state.weights[n], mlpParamCount(specs[n]));
    need("prior", state.prior, N * (config.expressionCount * 3 + config.jointCount));
    need("canonA", state.canonA, config.jointCount * 12);
    if (state.appearance) need("appearance", state.appearance, N * APPEARANCE_CHANNELS);

    const J = config.jointCount,
      K = config.expressionCount + config.poseCorrectiveCount,
      D = deformerOutputs(config),
      PE = positionalEncodingSize(config),
      G = rigGradStride(config),
      A = APPEARANCE_OUTPUTS;
    const buf = (name: string, floats: number, data?: ArrayLike<number>) => {
      const b = createBuffer(device, `train.${name}`, Math.max(4, floats * 4), STORAGE_RW);
      if (data) device.queue.writeBuffer(b, 0, Float32Array.from(data));
      this.owned.push(b);
      return (this.b[name] = b);
    };
    buf("points", N * 3, state.points);
    buf("dPoints", N * 3);
    buf("prior", state.prior.length, state.prior);
    buf("canonA", J * 12, state.canonA);
    buf("pe", N * PE);
    buf("dPe", N * PE);
    buf("rest", N * REST_STRIDE);
    buf("skin", N * J);
    buf("dirs", N * K * 3);
    buf("offsets", N * 3);
    buf("dOffsets", N * 3);
    buf("dRaw", N * A);
    buf("dRawGeo", N * A);
    buf("rigIn", N * 7);
    buf("dRig", N * G);
    buf("dDefRaw", N * D);
    buf("dSplat", N * 9);
    buf("dGeom", N * 10);
    buf("dImage", options.width * options.height * 4);
    buf("table", state.latentTable.length, state.latentTable);
    buf("dTable", state.latentTable.length);
    buf("maxOpacity", N, new Float32Array(N).fill(-1));
    if (state.appearance) {
      buf("appearance", N * APPEARANCE_CHANNELS, state.appearance);
      buf("dAppearance", N * APPEARANCE_CHANNELS);
    }
    const slots = options.framesPerBatch * options.batchesPerStep;
    buf("records", this.lossEvery * slots * LOSS_RECORD);
    const count = { count: N, pad0: 0, pad1: 0, pad2: 0 };
    for (const [name, layout] of [
      ["rigParams", RIG_PARAMS],
      ["headsParams", HEADS_GRAD_PARAMS],
      ["rigGradParams", RIG_GRAD_PARAMS],
    ] as const) {
      this.b[name] = layout.createBuffer(device, `train.${name}`, count);
      this.owned.push(this.b[name]!);
    }

    this.nets = {
      geometry: new GpuMlpTrain(device, specs.geometry, S, N, "train.geometry"),
      deformer: new GpuMlpTrain(device, specs.deformer, S, N, "train.deformer"),
      gaussian: new GpuMlpTrain(device, specs.gaussian, S, N, "train.gaussian"),
    };
    for (const n of NETS) this.nets[n].upload(state.weights[n]);

    this.loss = new GpuImageLoss(device, { width: options.width, height: options.height, channels: 3 }, 4, 4);
    // The d coverage slot of dImage stays zero: the loss is on colour only.
    const clear = device.createCommandEncoder({ label: "train.init" });
    clear.clearBuffer(this.b.dImage!);
    device.queue.submit([clear.finish()]);
    for (let s = 0; s < slots; s++) {
      const renderer = new GpuSplatRenderer(device, { isectsPerSplat: options.isectsPerSplat ?? 8 });
      const projParams = PROJECT_GRAD_PARAMS.createBuffer(device, `train.project${s}`);
      const rasterParams = RASTER_GRAD_PARAMS.createBuffer(device, `train.raster${s}`);
      this.owned.push(projParams, rasterParams);
      this.frames.push({
        renderer,
        gaussians: renderer.allocateCloud(N),
        frame: buf(`frame${s}`, frameSize(config)),
        target: buf(`target${s}`, options.width * options.height * 3),
        mask: buf(`mask${s}`, options.width * options.height),
        loss: this.loss.createSlot(`train.loss${s}`),
        projParams,
        rasterParams,
      });
    }
    for (let j = 0; j < options.batchesPerStep; j++)
      this.batches.push({ mix: buf(`mix${j}`, C * 4), cond: buf(`cond${j}`, S), dCond: buf(`dCond${j}`, S) });

    this.k = stepKernels(device, config);

    const latentGroups = options.latentGroups ?? [{ name: "latents", row: 0, rows: this.rows }];
    this.adam = new GpuAdam(
      device,
      [
        ...NETS.map((n) => ({
          name: n,
          param: this.nets[n].params,
          grad: this.nets[n].dParams,
          offset: 0,
          count: mlpParamCount(specs[n]),
        })),
        { name: "points", param: this.b.points!, grad: this.b.dPoints!, offset: 0, count: N * 3 },
        ...(state.appearance
          ? [
              {
                name: "appearance",
                param: this.b.appearance!,
                grad: this.b.dAppearance!,
                offset: 0,
                count: N * APPEARANCE_CHANNELS,
              },
            ]
          : []),
        ...latentGroups.map((g) => {
          if (g.row < 0 || g.rows < 1 || g.row + g.rows > this.rows)
            throw new Error(`${owner}: latent group "${g.name}" rows [${g.row}, ${g.row + g.rows}) outside the table`);
          return { name: g.name, param: this.b.table!, grad: this.b.dTable!, offset: g.row * L, count: g.rows * L };
        }),
      ],
      options.adam,
    );
    this.readback = new Readback(device);
  }

  /** Adam's groups: the networks, "points", "appearance" (with a residual) and the latent groups. */
  get groups(): string[] {
    return this.adam.names;
  }

  private run(pass: GPUComputePassEncoder, k: Kernel, res: Record<string, GPUBuffer>, threads: number, wg: number) {
    dispatchThreads(pass, k, this.binds.get(k, res), threads, wg);
  }

  /** Checks the batches and writes every per-frame input through the queue (before this step's submit). */
  private upload(batches: GpuBatch[]): Array<Array<{ lambda: number; wRegion: number }>> {
    const owner = "GpuAvatarTrainer.step";
    const { width: W, height: H, framesPerBatch, batchesPerStep } = this.options;
    if (batches.length < 1 || batches.length > batchesPerStep)
      throw new Error(`${owner}: ${batches.length} batches, between 1 and ${batchesPerStep} allowed`);
    const q = this.device.queue;
    const fs = frameSize(this.config);
    return batches.map((batch, j) => {
      const T = batch.targets.length;
      if (T < 1 || T > framesPerBatch)
        throw new Error(`${owner}: batch ${j} has ${T} frames, between 1 and ${framesPerBatch} allowed`);
      checkMix(`${owner}: batch ${j}`, batch.mix, this.config.categories.length, this.rows);
      q.writeBuffer(this.batches[j]!.mix, 0, packMix(batch.mix));
      // The CPU trainer's averaging: each batch's frames, then the batches.
      const scale = 1 / (T * batches.length);
      return batch.targets.map((t, k) => {
        const s = this.frames[j * framesPerBatch + k]!;
        if (t.camera.width !== W || t.camera.height !== H)
          throw new Error(
            `${owner}: batch ${j} frame ${k} is ${t.camera.width} x ${t.camera.height}, the trainer ${W} x ${H}`,
          );
        if (t.frame.length !== fs)
          throw new Error(`${owner}: batch ${j} frame ${k} holds ${t.frame.length} numbers, not ${fs}`);
        if (t.image.length !== W * H * 3)
          throw new Error(`${owner}: batch ${j} frame ${k}'s image is not [${H}, ${W}, 3]`);
        q.writeBuffer(s.frame, 0, Float32Array.from(t.frame));
        q.writeBuffer(s.target, 0, Float32Array.from(t.image));
        const wRegion = t.region && t.region.weight > 0 ? t.region.weight : 0;
        let maskWeight = 0;
        if (wRegion > 0) {
          const m = Float32Array.from(t.region!.mask);
          if (m.length !== W * H) throw new Error(`${owner}: batch ${j} frame ${k}'s region mask is not [${H}, ${W}]`);
          for (const v of m) maskWeight += v * 3;
          q.writeBuffer(s.mask, 0, m);
        }
        const slot = ((this.steps % this.lossEvery) * batchesPerStep + j) * framesPerBatch + k;
        this.loss.writeSlot(s.loss, {
          wL1: (1 - t.lambdaDssim) * scale,
          wSsim: t.lambdaDssim * scale,
          wRegion: wRegion * scale,
          maskWeight,
          slot,
        });
        q.writeBuffer(s.projParams, 0, packProjectGradParams(t.camera, this.count));
        q.writeBuffer(s.rasterParams, 0, packRasterGradParams(t.camera, this.count, t.background));
        return { lambda: t.lambdaDssim, wRegion };
      });
    });
  }

  /**
   * Encodes and submits one step: the gradients of the mean loss over the batches' frames (each batch's
   * frames averaged, then the batches, as the CPU trainer), then an Adam update of the groups in `lrs`
   * (none: gradients only, for readGradients). Resolves with the losses of the window's steps when this
   * step ends a read-back window (every lossEvery steps) or `readLosses` is set, else with null at once.
   */
  async step(batches: GpuBatch[], lrs?: GpuLearningRates, readLosses = false): Promise<GpuStepLosses[] | null> {
    const weights = this.upload(batches);
    const { framesPerBatch } = this.options;
    const N = this.count,
      C = this.config.categories.length,
      L = this.config.latentDim;
    const b = this.b,
      k = this.k,
      nets = this.nets;
    const enc = this.device.createCommandEncoder({ label: "train.step" });
    for (const n of NETS) nets[n].clearStep(enc);
    for (const name of ["dPoints", "dTable", ...(b.appearance ? ["dAppearance"] : [])]) enc.clearBuffer(b[name]!);
    let pass = enc.beginComputePass({ label: "train.fold" });
    for (const n of NETS) nets[n].encodeFold(pass);
    this.run(pass, k.peFwd, { params: b.headsParams!, points: b.points!, dPe: b.dPe!, out: b.pe! }, N, HEADS_WG);
    pass.end();

    batches.forEach((batch, j) => {
      const bs = this.batches[j]!;
      for (const n of NETS) nets[n].clearBatch(enc);
      for (const name of ["dRawGeo", "dRig", "dPe"]) enc.clearBuffer(b[name]!);
      enc.clearBuffer(bs.dCond);
      pass = enc.beginComputePass({ label: "train.bake" });
      this.run(pass, k.latentCond, { mixes: bs.mix, src: b.table!, dst: bs.cond }, C * (C + L), LATENTS_WG);
      for (const n of NETS) nets[n].encodeCondBias(pass, bs.cond);
      nets.geometry.encodeForward(pass, b.pe!);
      const geomRaw = nets.geometry.output;
      if (b.appearance)
        this.run(pass, k.addAppearance, { params: b.rigParams!, appearance: b.appearance, geomRaw }, N, RIG_WG);
      nets.deformer.encodeForward(pass, b.points!);
      const defRaw = nets.deformer.output;
      this.run(
        pass,
        k.bake,
        {
          params: b.rigParams!,
          frame: b.canonA!,
          points: b.points!,
          defRaw,
          prior: b.prior!,
          rest: b.rest!,
          skin: b.skin!,
          dirs: b.dirs!,
        },
        N,
        RIG_WG,
      );
      pass.end();

      batch.targets.forEach((t, f) => {
        const s = this.frames[j * framesPerBatch + f]!;
        pass = enc.beginComputePass({ label: "train.deform" });
        this.run(
          pass,
          k.deform,
          {
            params: b.rigParams!,
            frame: s.frame,
            rest: b.rest!,
            skin: b.skin!,
            dirs: b.dirs!,
            gaussians: s.gaussians,
            offsets: b.offsets!,
          },
          N,
          RIG_WG,
        );
        nets.gaussian.encodeForward(pass, b.offsets!);
        const residual = nets.gaussian.output;
        this.run(pass, k.compose, { params: b.rigParams!, geomRaw, residual, gaussians: s.gaussians }, N, RIG_WG);
        pass.end();
        s.renderer.encodeRender(enc, t.camera, { background: [...t.background] });
        enc.clearBuffer(b.dSplat!);
        enc.clearBuffer(b.dOffsets!);
        pass = enc.beginComputePass({ label: "train.backward" });
        this.loss.encode(pass, s.loss, {
          pred: s.renderer.outputs.rgba,
          truth: s.target,
          mask: s.mask,
          grad: b.dImage!,
          records: b.records!,
        });
        encodeRasterizeBwd(pass, s.renderer, t.camera, s.rasterParams, b.dImage!, b.dSplat!, (kk, r) =>
          this.binds.get(kk, r),
        );
        const proj = { params: s.projParams, gaussians: s.gaussians, dIn: b.dSplat!, dOut: b.dGeom! };
        this.run(pass, k.projectBwd, proj, N, PROJECT_GRAD_WG);
        this.run(
          pass,
          k.composeBwd,
          {
            params: b.headsParams!,
            gaussians: s.gaussians,
            geomRaw,
            residual,
            dSplat: b.dSplat!,
            dGeom: b.dGeom!,
            dRaw: b.dRaw!,
            dRawGeo: b.dRawGeo!,
            rigIn: b.rigIn!,
          },
          N,
          HEADS_WG,
        );
        const radii = s.renderer.outputs.radii;
        this.run(
          pass,
          k.trackOpacity,
          { params: b.headsParams!, gaussians: s.gaussians, radii, maxOpacity: b.maxOpacity! },
          N,
          HEADS_WG,
        );
        nets.gaussian.encodeBackward(pass, b.offsets!, b.dRaw!, b.dOffsets!);
        this.run(
          pass,
          k.deformBwd,
          {
            params: b.rigGradParams!,
            frame: s.frame,
            rest: b.rest!,
            skin: b.skin!,
            dirs: b.dirs!,
            dIn: b.rigIn!,
            dOffsets: b.dOffsets!,
            dRig: b.dRig!,
          },
          N,
          RIG_GRAD_WG,
        );
        pass.end();
      });

      // The batch's shared half, once: the bake is linear in its upstream gradients, so their sum goes through it.
      pass = enc.beginComputePass({ label: "train.bakeBackward" });
      this.run(
        pass,
        k.bakeBwd,
        {
          params: b.rigGradParams!,
          points: b.points!,
          raw: defRaw,
          prior: b.prior!,
          canonA: b.canonA!,
          dIn: b.dRig!,
          dPoints: b.dPoints!,
          dRaw: b.dDefRaw!,
        },
        N,
        RIG_GRAD_WG,
      );
      nets.deformer.encodeBackward(pass, b.points!, b.dDefRaw!, b.dPoints!);
      nets.geometry.encodeBackward(pass, b.pe!, b.dRawGeo!, b.dPe!);
      this.run(pass, k.peBwd, { params: b.headsParams!, points: b.points!, dPe: b.dPe!, out: b.dPoints! }, N, HEADS_WG);
      if (b.appearance)
        this.run(
          pass,
          k.appearanceBwd,
          { params: b.headsParams!, dRawGeo: b.dRawGeo!, dAppearance: b.dAppearance! },
          N,
          HEADS_WG,
        );
      for (const n of NETS) nets[n].encodeCondBackward(pass, bs.cond, bs.dCond);
      this.run(pass, k.latentScatter, { mixes: bs.mix, src: bs.dCond, dst: b.dTable! }, C * L, LATENTS_WG);
      pass.end();
    });

    pass = enc.beginComputePass({ label: "train.update" });
    for (const n of NETS) nets[n].encodeUnfold(pass);
    if (lrs) this.adam.encodeUpdate(pass, lrs);
    pass.end();

    this.window.push({ step: this.steps, batches: weights });
    this.steps++;
    const due = readLosses || this.steps % this.lossEvery === 0;
    const finish = due ? this.readback.encode(enc, [{ buffer: b.records!, bytes: b.records!.size }]) : null;
    this.device.queue.submit([enc.finish()]);
    if (!finish) return null;
    const [bytes] = await finish();
    for (const s of this.frames) await s.renderer.checkCapacity();
    return this.losses(new Float32Array(bytes!));
  }

  /** The losses of the steps since the last read-back (a checkpoint's history), read now. */
  async flushLosses(): Promise<GpuStepLosses[]> {
    if (this.window.length === 0) return [];
    const enc = this.device.createCommandEncoder({ label: "train.flushLosses" });
    const finish = this.readback.encode(enc, [{ buffer: this.b.records!, bytes: this.b.records!.size }]);
    this.device.queue.submit([enc.finish()]);
    const [bytes] = await finish();
    return this.losses(new Float32Array(bytes!));
  }

  /** The window's losses from its records; starts a new window. */
  private losses(records: Float32Array): GpuStepLosses[] {
    const { framesPerBatch, batchesPerStep } = this.options;
    const out = readLossRecords(this.window, records, this.lossEvery, batchesPerStep, framesPerBatch);
    this.window = [];
    return out;
  }

  private async read(buffer: GPUBuffer, floats: number): Promise<Float64Array> {
    return Float64Array.from(new Float32Array(await readBuffer(this.device, buffer, floats * 4)));
  }

  /** The last step's gradients (tests): the summed d params of the networks, d points, d table, d appearance. */
  async readGradients(): Promise<{
    points: Float64Array;
    weights: Record<keyof AvatarWeights, Float64Array>;
    latentTable: Float64Array;
    appearance?: Float64Array;
  }> {
    const specs = avatarSpecs(this.config);
    const weights = {} as Record<keyof AvatarWeights, Float64Array>;
    for (const n of NETS) weights[n] = await this.read(this.nets[n].dParams, mlpParamCount(specs[n]));
    return {
      points: await this.read(this.b.dPoints!, this.count * 3),
      weights,
      latentTable: await this.read(this.b.dTable!, this.rows * this.config.latentDim),
      ...(this.b.appearance ? { appearance: await this.read(this.b.dAppearance!, this.count * 3) } : {}),
    };
  }

  /** The parameters, and the largest opacity each Gaussian showed in a frame that drew it (-1: never drawn). */
  async readState(): Promise<{
    points: Float64Array;
    weights: Record<keyof AvatarWeights, Float64Array>;
    latentTable: Float64Array;
    appearance?: Float64Array;
    maxOpacity: Float64Array;
  }> {
    const specs = avatarSpecs(this.config);
    const weights = {} as Record<keyof AvatarWeights, Float64Array>;
    for (const n of NETS) weights[n] = await this.read(this.nets[n].params, mlpParamCount(specs[n]));
    return {
      points: await this.read(this.b.points!, this.count * 3),
      weights,
      latentTable: await this.read(this.b.table!, this.rows * this.config.latentDim),
      ...(this.b.appearance ? { appearance: await this.read(this.b.appearance, this.count * 3) } : {}),
      maxOpacity: await this.read(this.b.maxOpacity!, this.count),
    };
  }

  /** Starts the opacity tracking over (after a densification read it). */
  resetMaxOpacity(): void {
    this.device.queue.writeBuffer(this.b.maxOpacity!, 0, new Float32Array(this.count).fill(-1));
  }

  /** GPU bytes held (buffers of the state, the networks, the frame slots' renderers). */
  get gpuBytes(): number {
    let total = this.owned.reduce((s, x) => s + x.size, 0);
    for (const n of NETS) total += this.nets[n].bytes;
    for (const s of this.frames) total += s.renderer.gpuBytes;
    return total;
  }

  destroy(): void {
    for (const x of this.owned) x.destroy();
    this.owned.length = 0;
    for (const n of NETS) this.nets[n].destroy();
    for (const s of this.frames) s.renderer.destroy();
    this.loss.destroy();
    this.adam.destroy();
    this.readback.destroy();
    this.binds.clear();
  }
}
