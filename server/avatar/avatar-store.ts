/**
 * Avatars as the running server uses them: the head model (built once) and
 * each avatar's bundle, loaded on first use. An avatar without a bundle yet
 * (the demo, or one made before the portrait pipeline exists) gets an
 * untrained placeholder seeded by its id, so every avatar can be viewed and
 * edited from the start.
 */
import path from "node:path";
import type { Db } from "../db/client";
import { COMPACT } from "../../render-core/avatar/config";
import { createRandomAvatar, type Avatar } from "../../render-core/avatar/avatar";
import { createHeadModel, type HeadModel } from "../../render-core/head";
import { avatarBundlePath, isPlaceholderBundlePath } from "../storage/layout";
import { readAvatarBundleDir, writeAvatarBundleDir } from "./bundle-files";

/** Gaussians of a placeholder avatar: enough to read as a head, light enough for CPU-only streaming. */
export const PLACEHOLDER_GAUSSIANS = 12_000;

function seedOf(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** The database has no such avatar. */
export class AvatarNotFoundError extends Error {}

export class AvatarStore {
  private headModel: HeadModel | null = null;
  private readonly loading = new Map<string, Promise<Avatar>>();

  constructor(
    private readonly db: Db,
    private readonly dataDir: string,
  ) {}

  get head(): HeadModel {
    this.headModel ??= createHeadModel();
    return this.headModel;
  }

  /** The avatar's runtime data; loads (or makes the placeholder) once. */
  load(avatarId: string): Promise<Avatar> {
    let p = this.loading.get(avatarId);
    if (!p) {
      p = this.read(avatarId);
      this.loading.set(avatarId, p);
      p.catch(() => this.loading.delete(avatarId));
    }
    return p;
  }

  /** Drops what was loaded for the avatar (a creation job just gave it its bundle): the next load reads the row again. */
  forget(avatarId: string): void {
    this.loading.delete(avatarId);
  }

  /** Whether the avatar is still its untrained placeholder. */
  async isPlaceholder(avatarId: string): Promise<boolean> {
    const row = await this.db.avatar.findUnique({ where: { id: avatarId }, select: { bundlePath: true } });
    return !row?.bundlePath || isPlaceholderBundlePath(row.bundlePath);
  }

  /** The avatar's bundle folder (made first for a placeholder), absolute. */
  async bundleDir(avatarId: string): Promise<string> {
    await this.load(avatarId);
    const row = await this.db.avatar.findUnique({ where: { id: avatarId }, select: { bundlePath: true } });
    if (!row?.bundlePath) throw new AvatarNotFoundError(`No avatar with id "${avatarId}".`);
    return path.resolve(this.dataDir, row.bundlePath);
  }

  private async read(avatarId: string): Promise<Avatar> {
    const row = await this.db.avatar.findUnique({ where: { id: avatarId }, select: { bundlePath: true } });
    if (!row) throw new AvatarNotFoundError(`No avatar with id "${avatarId}".`);
    const head = this.head;
    if (row.bundlePath) {
      return readAvatarBundleDir(path.resolve(this.dataDir, row.bundlePath), {
        headFaceCount: head.faceCount,
        headShapeCount: head.shapeNames.length,
      });
    }
    // Written as a bundle like any other, so pages that render locally can download it.
    const avatar = createRandomAvatar(COMPACT, head, { count: PLACEHOLDER_GAUSSIANS, seed: seedOf(avatarId) });
    const bundlePath = avatarBundlePath(avatarId, "placeholder");
    await writeAvatarBundleDir(path.resolve(this.dataDir, bundlePath), avatar, {
      name: "untrained placeholder",
      headFaceCount: head.faceCount,
    });
    // The row can be gone meanwhile (a creation job cancelled while its editor was open).
    const { count } = await this.db.avatar.updateMany({ where: { id: avatarId }, data: { bundlePath } });
    if (count === 0) throw new AvatarNotFoundError(`No avatar with id "${avatarId}".`);
    return avatar;
  }
}
