"use client";
import { useState } from "react";
import type { SplatCloud } from "../../render-core/splats/splat-cloud";
import { SplatViewer } from "./SplatViewer";

export function ViewerPage() {
  const [cloud, setCloud] = useState<SplatCloud | null>(null);
  const [loading, setLoading] = useState(false);

  async function loadSample() {
    setLoading(true);
    // Generated in the page: the project's head model sampled into splats.
    const { splatHead } = await import("../../render-core/scenes/splat-head");
    const asked = Number(new URLSearchParams(location.search).get("splats"));
    setCloud(splatHead(7, Number.isInteger(asked) && asked > 0 && asked <= 2_000_000 ? asked : 60_000));
    setLoading(false);
  }

  return (
    <main>
      <h1>Splat viewer</h1>
      <p className="muted">
        Drop a 3D Gaussian-splat <code>.ply</code> or <code>.splat</code> file on the canvas, or load the sample head.
        Drag to orbit, scroll to zoom. Rendering runs on this device with WebGPU.
      </p>
      <div className="row" style={{ marginBottom: ".8rem" }}>
        <button onClick={loadSample} disabled={loading} data-testid="load-sample">
          {loading ? "Generating…" : "Load the sample head"}
        </button>
      </div>
      <SplatViewer cloud={cloud} size={512} />
    </main>
  );
}
