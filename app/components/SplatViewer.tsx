"use client";
/**
 * A WebGPU canvas showing a splat cloud with orbit controls (drag to orbit,
 * wheel to zoom), rendered by render-core's GpuSplatRenderer straight into
 * the canvas texture. Any .ply, .splat or .glb file dropped on it replaces the cloud.
 *
 * On software adapters the frame is read back and drawn into a 2D canvas
 * instead: Chromium on SwiftShader rejects every later GPU callback (mapAsync,
 * onSubmittedWorkDone) once a WebGPU canvas is configured, and there a frame
 * takes hundreds of milliseconds, so the readback costs nothing that shows.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { GpuSplatRenderer } from "../../render-core/raster/renderer";
import { orbitCamera } from "../../render-core/math/camera";
import { readSplatFile } from "../../render-core/formats";
import { splatBounds, type SplatCloud } from "../../render-core/splats/splat-cloud";
import { requestBrowserDevice } from "../lib/webgpu";

export interface SplatViewerProps {
  /** The cloud to show; a dropped file replaces it. */
  cloud: SplatCloud | null;
  /** Canvas size in pixels (square). Default 512. */
  size?: number;
  background?: [number, number, number];
  /** Accept .ply/.splat/.glb files dropped on the canvas. Default true. */
  acceptDrop?: boolean;
}

interface Orbit {
  yaw: number;
  pitch: number;
  distance: number;
}

function frame(cloud: SplatCloud): { target: [number, number, number]; radius: number } {
  const { centre, radius } = splatBounds(cloud);
  return { target: centre, radius };
}

export function SplatViewer({
  cloud: initial,
  size = 512,
  background = [0.06, 0.07, 0.09],
  acceptDrop = true,
}: SplatViewerProps) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [cloud, setCloud] = useState<SplatCloud | null>(initial);
  const [status, setStatus] = useState("starting WebGPU…");
  const [error, setError] = useState<string | null>(null);
  const [ready, setReady] = useState(false);
  const gpu = useRef<{
    device: GPUDevice;
    context: GPUCanvasContext | null;
    ctx2d: CanvasRenderingContext2D | null;
    renderer: GpuSplatRenderer;
  } | null>(null);
  const orbit = useRef<Orbit>({ yaw: 0, pitch: 0, distance: 1 });
  const framing = useRef(frame(initial ?? ({ count: 0 } as SplatCloud)));
  const pending = useRef(false);

  useEffect(() => setCloud(initial), [initial]);

  const draw = useCallback(() => {
    const g = gpu.current;
    if (!g || !cloud || pending.current) return;
    pending.current = true;
    requestAnimationFrame(() => {
      pending.current = false;
      const { yaw, pitch, distance } = orbit.current;
      const camera = orbitCamera({
        width: size,
        height: size,
        fovYDeg: 30,
        target: framing.current.target,
        distance,
        yawDeg: yaw,
        pitchDeg: pitch,
      });
      const t0 = performance.now();
      const done = (grew: boolean) => {
        setStatus(`${cloud.count.toLocaleString()} splats · ${(performance.now() - t0).toFixed(0)} ms/frame`);
        // A frame whose intersection list overflowed grows it; draw again at full quality.
        if (grew) draw();
      };
      const fail = (err: Error) => setError(`Rendering failed: ${err.message}`);
      if (g.context) {
        const encoder = g.device.createCommandEncoder();
        g.renderer.encodeRender(encoder, camera, { background }, { texture: g.context.getCurrentTexture() });
        g.device.queue.submit([encoder.finish()]);
        // checkCapacity() maps a small buffer, so it also tells when the frame is done.
        g.renderer.checkCapacity().then(done, fail);
      } else if (g.ctx2d) {
        const ctx2d = g.ctx2d;
        g.renderer.render(camera, { background }).then((image) => {
          const pixels = ctx2d.createImageData(image.width, image.height);
          for (let i = 0, n = image.width * image.height; i < n; i++) {
            pixels.data[i * 4] = image.rgb[i * 3]! * 255;
            pixels.data[i * 4 + 1] = image.rgb[i * 3 + 1]! * 255;
            pixels.data[i * 4 + 2] = image.rgb[i * 3 + 2]! * 255;
            pixels.data[i * 4 + 3] = 255;
          }
          ctx2d.putImageData(pixels, 0, 0);
          done(false);
        }, fail);
      }
    });
  }, [cloud, size, background]);

  useEffect(() => {
    let disposed = false;
    void requestBrowserDevice().then((r) => {
      if (disposed) return;
      if (!r.device) {
        setError(`${r.reason} The splat view needs WebGPU here.`);
        return;
      }
      const canvas = canvasRef.current;
      const context = r.software ? null : (canvas?.getContext("webgpu") ?? null);
      const ctx2d = r.software ? (canvas?.getContext("2d") ?? null) : null;
      if (!context && !ctx2d) {
        setError("Could not get a canvas context.");
        return;
      }
      context?.configure({
        device: r.device,
        format: "rgba8unorm",
        usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.RENDER_ATTACHMENT,
        alphaMode: "opaque",
      });
      gpu.current = { device: r.device, context, ctx2d, renderer: new GpuSplatRenderer(r.device) };
      setStatus(`WebGPU: ${r.adapterName}${r.software ? " (software: frames read back)" : ""}`);
      setReady(true);
    });
    return () => {
      disposed = true;
      gpu.current?.renderer.destroy();
      gpu.current = null;
    };
  }, []);

  useEffect(() => {
    const g = gpu.current;
    if (!cloud || !g) return;
    g.renderer.setCloud(cloud);
    framing.current = frame(cloud);
    orbit.current = { yaw: 0, pitch: 0, distance: framing.current.radius * 3.2 };
    draw();
  }, [cloud, ready, draw]);

  function onPointerDown(e: React.PointerEvent) {
    const start = { x: e.clientX, y: e.clientY, ...orbit.current };
    (e.target as Element).setPointerCapture(e.pointerId);
    const move = (ev: PointerEvent) => {
      orbit.current = {
        ...orbit.current,
        yaw: start.yaw - (ev.clientX - start.x) * 0.4,
        pitch: Math.max(-80, Math.min(80, start.pitch + (ev.clientY - start.y) * 0.4)),
      };
      draw();
    };
    const up = () => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  }

  function onWheel(e: React.WheelEvent) {
    const r = framing.current.radius;
    orbit.current = {
      ...orbit.current,
      distance: Math.max(r * 0.5, Math.min(r * 20, orbit.current.distance * Math.exp(e.deltaY * 0.001))),
    };
    draw();
  }

  async function onDrop(e: React.DragEvent) {
    e.preventDefault();
    if (!acceptDrop) return;
    const file = e.dataTransfer.files[0];
    if (!file) return;
    try {
      setStatus(`reading ${file.name}…`);
      setCloud(readSplatFile(new Uint8Array(await file.arrayBuffer()), file.name));
      setError(null);
    } catch (err) {
      setError((err as Error).message);
    }
  }

  return (
    <div>
      <canvas
        ref={canvasRef}
        width={size}
        height={size}
        data-testid="splat-canvas"
        style={{
          width: "100%",
          maxWidth: size,
          aspectRatio: "1",
          borderRadius: 10,
          touchAction: "none",
          cursor: "grab",
          display: "block",
        }}
        onPointerDown={onPointerDown}
        onWheel={onWheel}
        onDragOver={(e) => e.preventDefault()}
        onDrop={onDrop}
      />
      <div className="status-line" data-testid="viewer-status">
        {status}
      </div>
      {error && (
        <p className="error" role="alert" data-testid="viewer-error">
          {error}
        </p>
      )}
    </div>
  );
}
