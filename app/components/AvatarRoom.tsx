"use client";
/**
 * The avatar editor page: loads the avatar and this visitor's role, picks
 * where the avatar is rendered (LOCAL on a real GPU, STREAM otherwise or in
 * low-power mode), and lays out the viewport, its status lines, the banners,
 * the editing panels and, for the owner, the share dialog. The shared state
 * lives in useSharedRoom and the socket in useAvatarSocket, so this file only
 * decides what goes where; everything shared goes through the Y.Doc.
 */
import { useCallback, useEffect, useMemo, useState } from "react";
import { StreamView, type StreamStats } from "./StreamView";
import { LocalView } from "./LocalView";
import { createApi, errorMessage } from "../lib/trpc";
import { probeGpu, type GpuStatus } from "../lib/gpu-status";
import { ShareDialog } from "./ShareDialog";
import { JobProgressBanner } from "./JobProgressBanner";
import { useSharedRoom } from "../lib/use-shared-room";
import { useAvatarSocket } from "../lib/use-avatar-socket";
import { useStreamSocket } from "../lib/use-stream-socket";
import { AttributePanel } from "./AttributePanel";
import { PresetList } from "./PresetList";
import { PoseControls } from "./PoseControls";
import { PresenceList } from "./PresenceList";
import { ViewportStatus } from "./ViewportStatus";
import { ExportMenu } from "./ExportMenu";
import { DrivePanel } from "./DrivePanel";
import { useCameraDrive } from "../lib/use-camera-drive";
import type { DriveState } from "../../protocol/shared-state";
import { clipFromTake } from "../../render-core/animation/take";
import { writeClipJson } from "../../render-core/animation/clip-files";

type Role = "owner" | "edit" | "view";

const VIEW_SIZE = 384;

export function AvatarRoom({ avatarId, shareToken }: { avatarId: string; shareToken: string | null }) {
  const api = useMemo(() => createApi(shareToken), [shareToken]);
  const [avatar, setAvatar] = useState<{ name: string; role: Role; status: string } | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [denied, setDenied] = useState<string | null>(null);
  const [following, setFollowing] = useState<number | null>(null);
  const [stats, setStats] = useState<StreamStats | null>(null);
  const [mode, setMode] = useState<"local" | "stream" | null>(null);
  const [lowPower, setLowPower] = useState(false);
  const [localFailure, setLocalFailure] = useState<string | null>(null);
  const [gpu, setGpu] = useState<GpuStatus | null>(null);
  const [sharing, setSharing] = useState(false);
  const role: Role | null = avatar?.role ?? null;
  const canEdit = role === "owner" || role === "edit";

  useEffect(() => {
    api.avatars.get.query({ id: avatarId }).then(
      (a) => setAvatar({ name: a.name, role: a.role as Role, status: a.status }),
      (e) => setLoadError(errorMessage(e)),
    );
    const savedLowPower = localStorage.getItem("perse-low-power") === "1";
    setLowPower(savedLowPower);
    void probeGpu().then((g) => {
      setGpu(g);
      // LOCAL where the page has a real GPU; STREAM on thin clients, software adapters and in low-power mode.
      setMode((m) => m ?? (g.adapter && !g.software && !savedLowPower ? "local" : "stream"));
    });
  }, [api, avatarId]);

  // Both connections stop the page the same way (loadError) and report a refused change the same way (denied).
  const session = { avatarId, shareToken, canEdit, onStopped: setLoadError, onRefused: setDenied };
  const room = useSharedRoom(session);
  const { socket, info, serverOffsetMs, playClip } = useAvatarSocket(session);
  const streamSocket = useStreamSocket(socket, avatarId);
  // This page's own driven face, shown by its own renderer at the camera's rate (others get it 15 times a second);
  // kept only while it renders itself (LOCAL): in STREAM the server's frames show the shared face.
  const [ownDrive, setOwnDrive] = useState<DriveState | null>(null);
  const rendersItself = mode === "local" && !lowPower;
  const camera = useCameraDrive((sample, takenAt) => {
    if (rendersItself)
      setOwnDrive({ by: "", client: 0, expression: Array.from(sample.expression), pose: Array.from(sample.pose) });
    room.driveFace(sample, takenAt + serverOffsetMs);
  });
  function stopDriving() {
    camera.stop();
    setOwnDrive(null);
    room.stopDriving();
  }
  function saveTake() {
    const samples = camera.stopRecording();
    if (!samples) return;
    const name = `take-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    const blob = new Blob([writeClipJson(clipFromTake(name, samples))], { type: "application/json" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `${name}.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }

  const onStats = useCallback((s: StreamStats) => setStats(s), []);
  const onLocalFail = useCallback((reason: string) => {
    setLocalFailure(reason);
    setMode("stream");
  }, []);

  function chooseMode(next: "local" | "stream") {
    setLocalFailure(null);
    setStats(null);
    setMode(next);
  }

  function toggleLowPower(on: boolean) {
    setLowPower(on);
    localStorage.setItem("perse-low-power", on ? "1" : "0");
    if (on) chooseMode("stream");
  }

  const { positions, controls, playback, lastEditAt, onCamera } = room;
  const followed = following === null ? null : (room.peers.find((p) => p.clientId === following)?.camera ?? null);
  // A category without anchors (a trained avatar's "source": the person as they are) has nothing to slide to.
  const categories = info?.categories.filter((c) => c.anchors.length > 0) ?? [
    { name: "hair", anchors: [], thumbnails: [] },
  ];

  if (loadError) {
    return (
      <main>
        <p className="error" role="alert" data-testid="load-error">
          {loadError}
        </p>
      </main>
    );
  }

  return (
    <main>
      <div className="row" style={{ justifyContent: "space-between", marginBottom: ".8rem" }}>
        <h1 style={{ margin: 0 }} data-testid="avatar-name">
          {avatar?.name ?? "…"}
        </h1>
        <div className="row">
          {role && role !== "owner" && (
            <span className={`badge ${role}`} data-testid="role-badge">
              {role === "view" ? "View only" : "Can edit"}
            </span>
          )}
          {role && <ExportMenu avatarId={avatarId} shareToken={shareToken} />}
          {role === "owner" && (
            <button onClick={() => setSharing(true)} data-testid="open-share">
              Share…
            </button>
          )}
        </div>
      </div>
      {role === "owner" && avatar?.status !== "ready" && <JobProgressBanner api={api} avatarId={avatarId} />}
      {role === "view" && (
        <div className="banner">
          You are viewing through a view-only link: you see every change live, but cannot make any.
        </div>
      )}
      {denied && (
        <p className="error" role="alert" data-testid="denied">
          {denied}
        </p>
      )}
      <div className="room">
        <section>
          <div className="viewport" data-testid="viewport">
            {rendersItself ? (
              <LocalView
                avatarId={avatarId}
                shareToken={shareToken}
                size={VIEW_SIZE}
                positions={positions}
                ends={room.ends}
                controls={controls}
                playback={playback}
                drive={(camera.status.state === "driving" && ownDrive) || room.drive}
                serverOffsetMs={serverOffsetMs}
                lastEditAt={lastEditAt}
                onStats={onStats}
                onFail={onLocalFail}
                follow={followed}
                onCamera={onCamera}
              />
            ) : mode ? (
              <StreamView
                socket={streamSocket?.socket ?? null}
                source={streamSocket?.source ?? ""}
                avatarId={avatarId}
                size={VIEW_SIZE}
                lastEditAt={lastEditAt}
                serverOffsetMs={serverOffsetMs}
                onStats={onStats}
                follow={followed}
                onCamera={onCamera}
              />
            ) : null}
          </div>
          <ViewportStatus
            stats={stats}
            mode={mode}
            placeholder={info?.placeholder}
            lowPower={lowPower}
            gpu={gpu}
            localFailure={localFailure}
            synced={room.synced}
            connection={room.connection}
            onChooseMode={chooseMode}
            onLowPower={toggleLowPower}
          />
        </section>
        <aside className="card">
          <AttributePanel
            avatarId={avatarId}
            shareToken={shareToken}
            categories={categories}
            positions={positions}
            ends={room.ends}
            peers={room.peers}
            canEdit={canEdit}
            synced={room.synced}
            canUndo={room.canUndo}
            canRedo={room.canRedo}
            onSlide={(name, value) => room.onSlide(name, value)}
            onPickEnd={room.setEnd}
            onDragging={room.setDragging}
            onReset={room.reset}
            onRandom={() => room.randomize(categories)}
            onUndo={room.undo}
            onRedo={room.redo}
          />
          <PresetList
            presets={room.presets}
            canEdit={canEdit}
            onApply={room.applyPreset}
            onDelete={room.deletePreset}
            onSave={room.savePreset}
          />
          <PoseControls
            controls={controls}
            clips={info?.clips ?? ["talk"]}
            playing={room.playing}
            canEdit={canEdit}
            synced={room.synced}
            onSlide={(name, value) => room.onSlide(name, value, "pose")}
            onPlay={(clip) => void playClip(clip)}
          />
          <DrivePanel
            status={camera.status}
            canEdit={canEdit}
            synced={room.synced}
            drivenBy={room.drive ? room.drive.by : null}
            recording={camera.recording}
            takeLength={camera.takeLength}
            onStart={() => void camera.start()}
            onStop={stopDriving}
            onRecalibrate={camera.recalibrate}
            onRecord={camera.startRecording}
            onSaveTake={saveTake}
          />
          <PresenceList peers={room.peers} following={following} onFollow={setFollowing} />
        </aside>
      </div>
      {sharing && role === "owner" && <ShareDialog api={api} avatarId={avatarId} onClose={() => setSharing(false)} />}
    </main>
  );
}
