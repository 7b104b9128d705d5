"use client";
/**
 * "Drive with camera": start and stop, how well it runs (frames a second,
 * whether the camera sees a face), who else drives, and recording a take
 * that saves as a clip file. Presentational: the camera loop lives in
 * useCameraDrive and the sharing in useSharedRoom.
 */
import type { DriveStatus } from "../lib/use-camera-drive";

export interface DrivePanelProps {
  status: DriveStatus;
  canEdit: boolean;
  synced: boolean;
  /** Someone else's name when another page drives the face now. */
  drivenBy: string | null;
  recording: boolean;
  takeLength: number;
  onStart: () => void;
  onStop: () => void;
  onRecalibrate: () => void;
  onRecord: () => void;
  onSaveTake: () => void;
}

export function DrivePanel(props: DrivePanelProps) {
  const { status, canEdit, synced, drivenBy, recording } = props;
  const on = status.state === "driving" || status.state === "starting";
  return (
    <>
      <h2 style={{ marginTop: "1.2rem" }}>Drive with camera</h2>
      <p className="muted" style={{ fontSize: ".8rem", margin: ".2rem 0 .5rem" }}>
        The avatar follows your face, for everyone in the session. The camera&apos;s picture stays in this browser.
      </p>
      {drivenBy && !on && (
        <p className="muted" data-testid="driven-by">
          {drivenBy} is driving the face now.
        </p>
      )}
      <div className="row" style={{ flexWrap: "wrap" }}>
        {on ? (
          <button onClick={props.onStop} data-testid="drive-stop">
            Stop driving
          </button>
        ) : (
          <button
            className="primary"
            onClick={props.onStart}
            disabled={!canEdit || !synced}
            data-testid="drive-start"
            title={canEdit ? undefined : "A view link cannot drive the avatar"}
          >
            Drive with camera
          </button>
        )}
        {status.state === "driving" && (
          <button
            onClick={props.onRecalibrate}
            disabled={status.calibrating}
            data-testid="drive-recalibrate"
            title="Look at the screen with a relaxed, closed mouth, then press: the next half second becomes your neutral face"
          >
            I&apos;m neutral now
          </button>
        )}
        {status.state === "driving" &&
          (recording ? (
            <button onClick={props.onSaveTake} data-testid="take-save">
              Stop and save take ({props.takeLength} frames)
            </button>
          ) : (
            <button onClick={props.onRecord} data-testid="take-record">
              Record take
            </button>
          ))}
      </div>
      <p className="muted" data-testid="drive-status" style={{ fontSize: ".8rem" }}>
        {status.state === "starting" && `Starting: ${status.step}`}
        {status.state === "driving" &&
          `Driving · ${status.fps.toFixed(1)} fps · ${status.frameMs.toFixed(0)} ms a frame (face mesh on ${status.backend}, solve ${status.solveMs.toFixed(1)} ms) · ${status.inputWidth}x${status.inputHeight}${status.faceFound ? "" : " · no face in view"}${status.calibrating ? " · learning your neutral face: keep still" : ""}`}
      </p>
      {status.state === "error" && (
        <p className="error" role="alert" data-testid="drive-error">
          {status.message}
        </p>
      )}
    </>
  );
}
