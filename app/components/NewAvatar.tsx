"use client";
/**
 * "New avatar": drop or pick one portrait, which is uploaded at once and
 * analysed by the server; then either the analysis (overlay, summary) and
 * the creation form, or the server's refusal with its overlay. Creating
 * needs the uploader to confirm they may use the photo (protocol/consent.ts,
 * stored with the avatar); it starts a job and opens its progress page.
 */
import { useEffect, useMemo, useRef, useState, type DragEvent, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import { createApi, errorMessage } from "../lib/trpc";
import { CREATION_CONFIG_LABELS, OFFERED_CREATION_CONFIGS } from "../../protocol/creation-configs";
import { PHOTO_CONSENT } from "../../protocol/consent";
import {
  PORTRAIT_TYPES,
  checkPortraitFile,
  uploadPortrait,
  type JobConfig,
  type Portrait,
  type UploadResult,
} from "../lib/jobs";

type Step =
  | { kind: "idle" }
  | { kind: "uploading"; fileName: string }
  | { kind: "analysed"; portrait: Portrait }
  | { kind: "refused"; refusal: Extract<UploadResult, { ok: false }> }
  | { kind: "invalid"; message: string };

const QUALITIES = OFFERED_CREATION_CONFIGS.map((value) => ({ value, label: CREATION_CONFIG_LABELS[value] }));

const REFUSAL_TITLES: Record<string, string> = {
  "no-face": "No face found",
  "many-faces": "More than one face",
  "too-small": "The face is too small",
  blurred: "The photo is blurred",
  turned: "The head is turned too far",
  "bad-image": "Not a readable image",
  "too-large": "The photo is too large",
  "unsupported-type": "Not a supported kind of file",
  network: "The upload failed",
  server: "The server could not take the photo",
  "analysis-failed": "The server could not analyse the photo",
  "cross-site": "Refused: this page is not the studio's own",
};

/** One line about the analysis, in words a person reads. */
function summary(p: Portrait): string[] {
  const a = p.analysis;
  const r = a.rotation;
  // Math.round(-0.4) is -0, which prints as "0" only once made positive.
  const deg = (v: number) => `${Math.round(v) || 0}°`;
  return [
    `Face found (${Math.round(a.score * 100)}% confidence)${a.faces > 1 ? `, the largest of ${a.faces}` : ""}`,
    `Head rotation: yaw ${deg(r.yawDeg)}, pitch ${deg(r.pitchDeg)}, roll ${deg(r.rollDeg)}`,
    `Sharpness ${a.sharpness < 10 ? a.sharpness.toFixed(2) : a.sharpness.toFixed(0)} · eyes ${a.interocularPx.toFixed(0)} px apart · photo ${p.width}×${p.height}`,
  ];
}

export function NewAvatar() {
  const api = useMemo(() => createApi(), []);
  const router = useRouter();
  const input = useRef<HTMLInputElement>(null);
  const [step, setStep] = useState<Step>({ kind: "idle" });
  const [preview, setPreview] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const [name, setName] = useState("My avatar");
  const [quality, setQuality] = useState<JobConfig>("tiny");
  // The uploader's confirmation that they may use this photo; asked again for every photo.
  const [consent, setConsent] = useState(false);
  const [creating, setCreating] = useState(false);
  const [createError, setCreateError] = useState<string | null>(null);

  // The local preview's object URL lives as long as it is shown.
  useEffect(() => () => void (preview && URL.revokeObjectURL(preview)), [preview]);

  async function take(file: File | undefined) {
    if (!file) return;
    setCreateError(null);
    setConsent(false);
    const problem = checkPortraitFile(file);
    if (problem) {
      setPreview(null);
      setStep({ kind: "invalid", message: problem });
      return;
    }
    setPreview(URL.createObjectURL(file));
    setStep({ kind: "uploading", fileName: file.name });
    const result = await uploadPortrait(file);
    setStep(result.ok ? { kind: "analysed", portrait: result.portrait } : { kind: "refused", refusal: result });
  }

  function reset() {
    setStep({ kind: "idle" });
    setPreview(null);
    setCreateError(null);
    setConsent(false);
    if (input.current) input.current.value = "";
  }

  function onDrop(e: DragEvent) {
    e.preventDefault();
    setDragging(false);
    if (step.kind !== "uploading") void take(e.dataTransfer.files[0]);
  }

  async function create(e: FormEvent) {
    e.preventDefault();
    if (step.kind !== "analysed" || !consent) return;
    setCreating(true);
    setCreateError(null);
    try {
      const { jobId } = await api.jobs.createAvatar.mutate({
        portraitId: step.portrait.id,
        name: name.trim(),
        config: quality,
        consent,
        consentVersion: PHOTO_CONSENT.version,
      });
      router.push(`/jobs/${encodeURIComponent(jobId)}`);
    } catch (err) {
      setCreateError(errorMessage(err));
      setCreating(false);
    }
  }

  const picker = (
    <input
      ref={input}
      type="file"
      accept={PORTRAIT_TYPES.join(",")}
      className="visually-hidden"
      data-testid="portrait-input"
      aria-label="Portrait photo"
      disabled={step.kind === "uploading"}
      onChange={(e) => void take(e.target.files?.[0])}
    />
  );

  if (step.kind === "analysed") {
    const p = step.portrait;
    return (
      <div className="new-avatar" data-testid="portrait-analysed">
        <figure className="portrait-figure">
          <img
            src={p.overlayUrl}
            alt="The portrait with the face box, landmarks and matte the server found"
            data-testid="portrait-overlay"
          />
        </figure>
        <div className="card">
          <ul className="analysis" data-testid="portrait-summary">
            {summary(p).map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
          <form className="create-form" onSubmit={create}>
            <label>
              Name
              <input
                type="text"
                value={name}
                maxLength={80}
                onChange={(e) => setName(e.target.value)}
                data-testid="new-avatar-name"
              />
            </label>
            <label>
              Quality
              <select
                value={quality}
                onChange={(e) => setQuality(e.target.value as JobConfig)}
                data-testid="new-avatar-quality"
              >
                {QUALITIES.map((q) => (
                  <option key={q.value} value={q.value}>
                    {q.label}
                  </option>
                ))}
              </select>
            </label>
            <label style={{ flexDirection: "row", alignItems: "flex-start", gap: "0.5rem" }}>
              <input
                type="checkbox"
                required
                checked={consent}
                onChange={(e) => setConsent(e.target.checked)}
                disabled={creating}
                data-testid="photo-consent"
              />
              <span>{PHOTO_CONSENT.text}</span>
            </label>
            {!consent && (
              <p className="muted" id="photo-consent-hint" data-testid="photo-consent-hint">
                Tick the box above to create the avatar: it is made only from photos you may use.
              </p>
            )}
            {createError && (
              <p className="error" role="alert" data-testid="create-error">
                {createError}
              </p>
            )}
            <div className="row">
              <button
                type="submit"
                className="primary"
                disabled={creating || !name.trim() || !consent}
                aria-describedby={consent ? undefined : "photo-consent-hint"}
                data-testid="create-avatar"
              >
                {creating ? "Starting…" : "Create avatar"}
              </button>
              <button type="button" onClick={reset} disabled={creating}>
                Use another photo
              </button>
            </div>
          </form>
        </div>
      </div>
    );
  }

  if (step.kind === "refused") {
    const { refusal } = step;
    return (
      <div className="new-avatar" data-testid="portrait-refused" data-code={refusal.code}>
        {(refusal.overlayUrl ?? preview) && (
          <figure className="portrait-figure">
            <img src={refusal.overlayUrl ?? preview!} alt="The photo that was refused" data-testid="refusal-overlay" />
          </figure>
        )}
        <div className="card refusal">
          <h2>{REFUSAL_TITLES[refusal.code] ?? "This photo cannot be used"}</h2>
          <p className="refusal-message" role="alert" data-testid="refusal-message">
            {refusal.message}
          </p>
          <button type="button" className="primary" onClick={reset} data-testid="try-another">
            Try another photo
          </button>
        </div>
      </div>
    );
  }

  const uploading = step.kind === "uploading";
  return (
    <>
      <label
        className={`drop-zone${dragging ? " dragging" : ""}${uploading ? " busy" : ""}`}
        data-testid="drop-zone"
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        {picker}
        {uploading ? (
          <>
            {preview && <img src={preview} alt="" className="drop-preview" />}
            <span className="spinner" aria-hidden="true" />
            <strong data-testid="upload-status">Uploading and analysing {step.fileName}…</strong>
          </>
        ) : (
          <>
            <strong>Drop a portrait photo here</strong>
            <span className="muted">or click to choose one · JPEG, PNG or WebP, up to 20 MB</span>
          </>
        )}
      </label>
      {step.kind === "invalid" && (
        <p className="error big" role="alert" data-testid="file-error">
          {step.message}
        </p>
      )}
      <p className="muted">
        Best results: one person, facing the camera, face well lit and in focus, at least 512 pixels across. The photo
        stays on this server.
      </p>
    </>
  );
}
