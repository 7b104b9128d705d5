/**
 * Seeded fuzz test of the Yjs websocket endpoint (yjs-ws.ts), in the style of
 * Yjs's randomized tests (tests/testHelper.js applyRandomTests) and tldraw's
 * sync fuzz tests: a real server, real websockets, real y-websocket providers.
 *
 * Actors on one avatar:
 * - honest editors: A (owner, with a Y.UndoManager), B (edit link), C (edit
 *   link, sometimes destroyed and replaced by a fresh client). They edit
 *   within the schema, go offline and edit there, come back;
 * - a view-link client that writes marker keys ("view-...") and is always
 *   refused, and a view-link reader that never writes;
 * - a bad editor (edit link) on a raw socket: it follows the document like a
 *   client (a mirror Y.Doc fed by what the server sends) and sends updates
 *   built on it that break the schema (wrong types, out-of-range values,
 *   nested shared types, unknown roots, list content, too many entries, a
 *   state past maxDocBytes), and forged presence (another connection's id,
 *   invalid states, more ids than its quota);
 * - throw-away sockets (owner, edit or view) that send malformed messages
 *   (must close with 1007) and random bytes (must close with 1007, or be
 *   refused, or change nothing that breaks a property below).
 * Honest actions interleave with all of that: edits (also batched in one
 * transaction), undo/redo, presence changes, disconnect/connect with edits
 * made while offline, a client replaced by a fresh one, short random waits.
 *
 * Every decision comes from one seeded PRNG (mulberry32); waits are
 * timing-dependent but no property depends on timing. Properties:
 *  1. at every checkpoint the honest editors, the reader, the view client
 *     (less its own refused keys) and the bad editor's mirror converge to the
 *     server's document (same content, same state vector for editors);
 *  2. the server's document passes sharedStateProblem() after every update it
 *     applies, and its presence states always match the awareness schema;
 *  3. no key written only by refused peers ("evil...", "view-...", unknown
 *     roots) and no refused presence ("forbidden...") ever appears on the
 *     server or at any honest client;
 *  4. the stored docUpdate rows (compacted every 10) replay to exactly the
 *     server's document;
 *  5. the server stays up: /healthz answers and a fresh client syncs to the
 *     same state at the end;
 *  6. every refused message got the refusal its kind calls for (checked per
 *     message: the bad socket sends a sync step 1 after each message and reads
 *     the answers up to the step 2 reply), malformed ones closed with 1007,
 *     and the honest editors were never refused anything.
 *
 * Run: FUZZ_SEED=<int> FUZZ_ITERATIONS=<n> npx vitest run server/realtime/yjs-fuzz.test.ts
 * The default (120 iterations, plus one of each malformed message) takes
 * 3-7 s of test time, 8-18 s for the whole file with the server's start, on
 * the 2-core dev machine (the spread is its load); 200 iterations 6-8 s and
 * 1000 about 23 s of test time. A failure names its seed and shows the last
 * actions; FUZZ_TRACE=<file> writes the whole trace there.
 */
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as Y from "yjs";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import * as syncProtocol from "y-protocols/sync";
import { startTestServer, waitFor, type TestServer } from "../testing/harness";
import {
  connectYClient,
  forgedAwarenessMessage,
  rawYSocket,
  recordDenials,
  syncStep1Message,
  type YClient,
} from "../testing/yjs-client";
import { newShareToken, hashToken } from "../auth/access";
import { awarenessStateSchema, SHARED_LIMITS, sharedStateProblem } from "../../protocol/schemas";
import { SharedKeys } from "../../protocol/shared-state";
import { POSE_CONTROLS } from "../../render-core/animation/controls";
import { BUILTIN_CLIP_NAMES } from "../../render-core/animation";
import type { SharedDoc } from "./doc-store";

// ---- configuration -------------------------------------------------------------

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

const SEED = intEnv("FUZZ_SEED", 20261123) >>> 0;
const ITERATIONS = intEnv("FUZZ_ITERATIONS", 120);
/** A full convergence/storage check every this many iterations (and at the end). */
const CHECK_EVERY = 40;
const MAX_DOC_BYTES = 16 * 1024;
const COMPACT_AFTER = 10;
/*
 * Attacks that broke the first version of the server's guard, now part of
 * every run (docs/security.md):
 * - "poison": an update that waits for an honest editor's next clocks (a value
 *   that would become visible inside that editor's own edit, or deletions of
 *   its coming items); "mutatedUpdate" (valid updates with bytes changed)
 *   finds the same by chance. The server refuses any update that leaves
 *   anything pending; checkpoints require that it holds nothing pending;
 * - "spoof" (a "poison" variant): a valid write under an honest editor's
 *   client id at its next clock. Client ids are bound to the connection that
 *   first wrote under them (presence included), and across a reconnect to the
 *   page's session secret;
 * - "squat": another connection claiming a reconnecting editor's presence id
 *   before its next presence change;
 * - a view client whose document holds deletions used to be refused
 *   "view-only" on every reconnect; the reader must never be refused.
 */
const REPRO = `FUZZ_SEED=${SEED} FUZZ_ITERATIONS=${ITERATIONS}`;

// ---- seeded PRNG ---------------------------------------------------------------

/** mulberry32: small, fast, good enough to drive a fuzzer; never Math.random. */
class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  /** A value in [lo, hi]: often an end or the middle, else a rounded uniform draw. */
  inRange(lo: number, hi: number): number {
    const r = this.next();
    if (r < 0.1) return lo;
    if (r < 0.2) return hi;
    if (r < 0.25) return lo <= 0 && hi >= 0 ? 0 : lo;
    return Math.min(hi, Math.max(lo, Math.round((lo + this.next() * (hi - lo)) * 1000) / 1000));
  }
  /** A Yjs client id (uint32, non-zero). */
  clientId(): number {
    return this.int(1, 0xfffffffe);
  }
  weighted<T>(table: ReadonlyArray<readonly [number, T]>): T {
    const total = table.reduce((s, [w]) => s + w, 0);
    let r = this.next() * total;
    for (const [w, v] of table) {
      if ((r -= w) < 0) return v;
    }
    return table[table.length - 1]![1];
  }
}

// ---- document helpers ----------------------------------------------------------

const ROOTS = Object.values(SharedKeys) as string[];
const ATTR_KEYS = ["hair", "nose", "jaw", "eyes", "age", "brow", "lips", "chin", "cheeks", "skin"];
const PRESET_NAMES = ["p", "Smile", "old & wise", "P".repeat(SHARED_LIMITS.maxPresetName), "z 😀", "sixth"];
const SAVED_BY = ["A", "", "n".repeat(SHARED_LIMITS.maxUserName), "Zoë"];
const CLIPS = ["", ...BUILTIN_CLIP_NAMES];
const COLORS = ["#112233", "#abcdef", "#FF00aa"];

type DocState = Record<string, Record<string, unknown>>;

/** What a document shows, read without creating roots: root -> key -> value (empty roots left out). */
function docState(doc: Y.Doc): DocState {
  const out: DocState = {};
  for (const [name, type] of doc.share) {
    const values: Record<string, unknown> = {};
    for (const [k, item] of type._map) {
      if (item.deleted) continue;
      const content = item.content.getContent();
      const value: unknown = content[content.length - 1];
      values[k] = value instanceof Y.AbstractType || value instanceof Y.Doc ? "<shared type>" : value;
    }
    if (type._start !== null) values["<list content>"] = true;
    if (Object.keys(values).length > 0) out[name] = values;
  }
  return out;
}

/** Deterministic JSON (sorted keys; NaN and friends kept visible). */
function canon(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === "number" && !Number.isFinite(v)) return `<${v}>`;
    if (typeof v === "bigint") return `<bigint ${v}>`;
    if (v instanceof Uint8Array) return `<bytes ${[...v].join(",")}>`;
    if (v && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, (v as Record<string, unknown>)[k]]),
      );
    }
    return v;
  });
}

function stateVector(doc: Y.Doc): string {
  const sv = Y.decodeStateVector(Y.encodeStateVector(doc));
  return [...sv.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([c, k]) => `${c}:${k}`)
    .join(",");
}

/** Keys only refused peers write; none of them may ever show up. */
const isMarker = (key: string) => key === "" || key.startsWith("evil") || key.startsWith("view-");

function markerProblems(state: DocState, where: string): string[] {
  const problems: string[] = [];
  for (const [root, values] of Object.entries(state)) {
    if (!ROOTS.includes(root)) problems.push(`${where}: unknown root "${root}"`);
    for (const [key, value] of Object.entries(values)) {
      if (isMarker(key)) problems.push(`${where}: refused key ${root}.${key}`);
      if (value === "<shared type>" || key === "<list content>")
        problems.push(`${where}: ${root}.${key} is ${String(value)}`);
      if (root === SharedKeys.presets && value && typeof value === "object") {
        const attrs = (value as { attributes?: unknown }).attributes;
        if (attrs && typeof attrs === "object")
          for (const k of Object.keys(attrs))
            if (isMarker(k)) problems.push(`${where}: refused preset key ${key}.${k}`);
      }
    }
  }
  return problems;
}

/** A view client's state less the keys it wrote itself (all refused). */
function withoutViewKeys(state: DocState): DocState {
  const out: DocState = {};
  for (const [root, values] of Object.entries(state)) {
    const kept = Object.fromEntries(Object.entries(values).filter(([k]) => !k.startsWith("view-")));
    if (Object.keys(kept).length > 0) out[root] = kept;
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tick = () => new Promise((r) => setImmediate(r));

/** A broken property, with the seed and the last actions in its message. */
class FuzzFailure extends Error {}

// ---- the fuzz ------------------------------------------------------------------

let server: TestServer;
let avatarId: string;
let editToken: string;
let viewToken: string;

async function link(role: "view" | "edit"): Promise<string> {
  const token = newShareToken();
  await server.db.shareLink.create({ data: { avatarId, role, tokenHash: hashToken(token) } });
  return token;
}

beforeAll(async () => {
  server = await startTestServer({ maxDocBytes: MAX_DOC_BYTES, compactAfterUpdates: COMPACT_AFTER });
  avatarId = (await server.db.avatar.create({ data: { name: "Fuzz" } })).id;
  editToken = await link("edit");
  viewToken = await link("view");
});

afterAll(async () => {
  await server?.close();
});

interface Honest {
  label: string;
  token: string | null;
  client: YClient;
  /** As this test drives it: false after provider.disconnect(), true after connect(). */
  connected: boolean;
  undo: Y.UndoManager | null;
}

type Expectation =
  /** Exactly one refusal, starting with `prefix` (and matching `match`). */
  | { refuse: string; match?: RegExp }
  /** No refusal. */
  | { accept: true }
  /** Refused with `prefix`, or accepted (when the outcome depends on a concurrent honest edit). */
  | { refuseOrAccept: string };

describe(`Yjs endpoint fuzz (${REPRO})`, () => {
  it("random interleavings of honest, view-only, bad and malformed peers keep the contract", async () => {
    const rng = new Rng(SEED);
    const trace: string[] = [];
    const violations: string[] = [];
    const stats: Record<string, number> = {};
    const count = (what: string) => (stats[what] = (stats[what] ?? 0) + 1);
    /** The action under way, named in a failure (the trace gets it once it is done). */
    let current = "setting up";
    const fail = (message: string): never => {
      if (process.env.FUZZ_TRACE) fs.writeFileSync(process.env.FUZZ_TRACE, trace.join("\n"));
      throw new FuzzFailure(
        `[${REPRO}] ${message}\n--- last actions (failed during: ${current}) ---\n${trace.slice(-40).join("\n")}`,
      );
    };

    const shared: SharedDoc = await server.docs.acquire(avatarId);
    /** Whatever must be closed at the end, failure or not (no provider may keep reconnecting to a closed server). */
    const live = new Set<{ destroy(): void }>();
    const track = <T extends { destroy(): void }>(thing: T): T => (live.add(thing), thing);
    const drop = (thing: { destroy(): void }) => (live.delete(thing), thing.destroy());
    try {
      let serverUpdates = 0;
      // Property 2 and 3, after every update the server applies.
      const onServerUpdate = () => {
        serverUpdates++;
        const problem = sharedStateProblem(shared.doc);
        if (problem) violations.push(`server state invalid after update ${serverUpdates}: ${problem}`);
        violations.push(...markerProblems(docState(shared.doc), "server"));
      };
      shared.doc.on("update", onServerUpdate);
      track({ destroy: () => shared.doc.off("update", onServerUpdate) });
      const presenceProblems = (states: Map<number, Record<string, unknown>>, where: string) => {
        for (const [id, state] of states) {
          if (!awarenessStateSchema.safeParse(state).success)
            violations.push(`${where}: invalid presence of ${id}: ${canon(state).slice(0, 200)}`);
          const name = (state as { user?: { name?: unknown } }).user?.name;
          if (typeof name === "string" && name.startsWith("forbidden"))
            violations.push(`${where}: refused presence of ${id} shows: ${name}`);
        }
      };
      const onServerPresence = () => presenceProblems(shared.awareness.getStates(), "server presence");
      shared.awareness.on("change", onServerPresence);
      track({ destroy: () => shared.awareness.off("change", onServerPresence) });

      /** Every denial list of an honest provider, past and present. */
      const honestDenials: Array<{ label: string; reasons: string[] }> = [];
      const watch = (label: string, client: YClient) => {
        const reasons = recordDenials(client.provider);
        client.provider.awareness.on("change", () =>
          presenceProblems(client.provider.awareness.getStates(), `${label} presence`),
        );
        return reasons;
      };

      const makeHonest = async (label: string, token: string | null, withUndo: boolean): Promise<Honest> => {
        const client = track(await connectYClient(server.url, avatarId, token));
        honestDenials.push({ label, reasons: watch(label, client) });
        client.provider.awareness.setLocalStateField("user", { name: `honest ${label}`, color: rng.pick(COLORS) });
        const d = client.doc;
        const undo = withUndo
          ? new Y.UndoManager(
              [
                d.getMap(SharedKeys.attributes),
                d.getMap(SharedKeys.pose),
                d.getMap(SharedKeys.presets),
                d.getMap(SharedKeys.playback),
              ],
              { captureTimeout: 0 },
            )
          : null;
        return { label, token, client, connected: true, undo };
      };
      const honest: Honest[] = [
        await makeHonest("A", null, true),
        await makeHonest("B", editToken, false),
        await makeHonest("C", editToken, false),
      ];

      const view = {
        client: track(await connectYClient(server.url, avatarId, viewToken)),
        connected: true,
        writes: 0,
        denials: [] as string[],
      };
      view.denials = watch("view", view.client);
      view.client.provider.awareness.setLocalStateField("user", { name: "viewer", color: "#000000" });
      const reader = {
        client: track(await connectYClient(server.url, avatarId, viewToken)),
        connected: true,
        denials: [] as string[],
      };
      reader.denials = watch("reader", reader.client);

      // ---- the bad editor: a raw socket and a mirror of what the server sent it ----
      const badSocket = async () => {
        const sock = await rawYSocket(server.url, avatarId, editToken);
        return Object.assign(sock, { destroy: () => sock.ws.close() });
      };
      const bad = {
        sock: track(await badSocket()),
        mirror: new Y.Doc(),
        seen: 0,
        step2s: 0,
        /** Presence ids this connection owns on the server (as the server counts them). */
        owned: new Set<number>(),
        clocks: new Map<number, number>(),
      };
      const pump = () => {
        const received = bad.sock.received;
        for (; bad.seen < received.length; bad.seen++) {
          const m = received[bad.seen]!;
          if (m[0] !== 0) continue;
          const d = decoding.createDecoder(m);
          decoding.readVarUint(d);
          const sub = decoding.readVarUint(d);
          if (sub === 0) continue;
          if (sub === 1) bad.step2s++;
          Y.applyUpdate(bad.mirror, decoding.readVarUint8Array(d), "server");
        }
      };
      /** Sends a sync step 1 and waits for the step 2 answer: everything sent before it has been handled. */
      const roundTrip = async () => {
        pump();
        const before = bad.step2s;
        bad.sock.ws.send(syncStep1Message(bad.mirror));
        await waitFor(() => (pump(), bad.step2s > before || bad.sock.closed()), 5000, "bad editor round trip");
        if (bad.sock.closed()) fail(`the bad editor's socket closed: ${canon(bad.sock.closed())}`);
      };
      const badSend = async (what: string, message: Uint8Array, expectation: Expectation) => {
        await roundTrip(); // the mirror is as fresh as it gets before the next message
        const before = bad.sock.deniedReasons().length;
        bad.sock.ws.send(message);
        await roundTrip();
        const got = bad.sock.deniedReasons().slice(before);
        const ok =
          "accept" in expectation
            ? got.length === 0
            : "refuse" in expectation
              ? got.length === 1 &&
                got[0]!.startsWith(expectation.refuse) &&
                (!expectation.match || expectation.match.test(got[0]!))
              : got.length === 0 || (got.length === 1 && got[0]!.startsWith(expectation.refuseOrAccept));
        count(got.length ? `refused ${what}` : `accepted ${what}`);
        if (!ok)
          fail(
            `bad editor, ${what}: expected ${canon({ ...expectation, match: "match" in expectation ? String(expectation.match) : undefined })}, got ${canon(got)}`,
          );
        return got;
      };
      /** Client ids whose every update was refused (forged ones, the view client's): none may ever be in the server's state vector. */
      const refusedClients = new Set<number>();
      /** A scratch copy of the mirror with its own client id; returns the update the mutator makes. */
      const forge = (mutate: (doc: Y.Doc) => void, clientId = rng.clientId()): Uint8Array => {
        const scratch = new Y.Doc();
        Y.applyUpdate(scratch, Y.encodeStateAsUpdate(bad.mirror));
        scratch.clientID = clientId; // after the copy, or Yjs picks a new id when it sees "its own" structs
        const sv = Y.encodeStateVector(scratch);
        scratch.transact(() => mutate(scratch));
        return Y.encodeStateAsUpdate(scratch, sv);
      };
      const updateMessage = (update: Uint8Array): Uint8Array => {
        const enc = encoding.createEncoder();
        encoding.writeVarUint(enc, 0);
        syncProtocol.writeUpdate(enc, update);
        return encoding.toUint8Array(enc);
      };

      // ---- honest actions ------------------------------------------------------------
      const slider = () => rng.inRange(-1, 1);
      const honestEdit = (h: Honest): string => {
        const d = h.client.doc;
        const attrs = d.getMap<number>(SharedKeys.attributes);
        const pose = d.getMap<number>(SharedKeys.pose);
        const presets = d.getMap<unknown>(SharedKeys.presets);
        const playback = d.getMap<string | number>(SharedKeys.playback);
        const one = (): string => {
          const op = rng.weighted([
            [5, "setAttr"],
            [1, "delAttr"],
            [3, "setPose"],
            [1, "delPose"],
            [2, "savePreset"],
            [1, "delPreset"],
            [1, "playback"],
          ] as const);
          switch (op) {
            case "setAttr": {
              const k = rng.pick(ATTR_KEYS),
                v = slider();
              attrs.set(k, v);
              return `attributes.${k}=${v}`;
            }
            case "delAttr": {
              const k = rng.pick(ATTR_KEYS);
              attrs.delete(k);
              return `delete attributes.${k}`;
            }
            case "setPose": {
              const c = rng.pick(POSE_CONTROLS),
                v = rng.inRange(c.min, c.max);
              pose.set(c.name, v);
              return `pose.${c.name}=${v}`;
            }
            case "delPose": {
              const c = rng.pick(POSE_CONTROLS);
              pose.delete(c.name);
              return `delete pose.${c.name}`;
            }
            case "savePreset": {
              const name = rng.pick(PRESET_NAMES);
              const record: Record<string, number> = {};
              for (let i = rng.int(0, 5); i > 0; i--) record[rng.pick(ATTR_KEYS)] = slider();
              presets.set(name, { attributes: record, savedBy: rng.pick(SAVED_BY), savedAt: rng.int(0, 2e12) });
              return `save preset "${name}"`;
            }
            case "delPreset": {
              const name = rng.pick(PRESET_NAMES);
              presets.delete(name);
              return `delete preset "${name}"`;
            }
            case "playback": {
              const clip = rng.pick(CLIPS);
              if (rng.bool(0.2)) {
                playback.delete("clip");
                playback.delete("startedAt");
                return "stop playback";
              }
              playback.set("clip", clip);
              playback.set("startedAt", rng.int(0, 2e12));
              return `play "${clip}"`;
            }
          }
        };
        if (rng.bool(0.15)) {
          const parts: string[] = [];
          d.transact(() => {
            for (let i = rng.int(2, 4); i > 0; i--) parts.push(one());
          });
          return parts.join("; ");
        }
        return one();
      };

      const setPresence = (label: string, client: YClient): string => {
        const a = client.provider.awareness;
        const kind = rng.int(0, 2);
        if (kind === 0)
          a.setLocalStateField("camera", {
            yawDeg: rng.inRange(-360, 360),
            pitchDeg: rng.inRange(-89, 89),
            distance: rng.inRange(0.1, 10),
          });
        else if (kind === 1) a.setLocalStateField("dragging", rng.bool() ? rng.pick(ATTR_KEYS) : null);
        else a.setLocalStateField("user", { name: `${label} ${rng.int(0, 99)}`, color: rng.pick(COLORS) });
        return `presence ${["camera", "dragging", "user"][kind]}`;
      };

      // ---- bad updates ---------------------------------------------------------------
      let n = 0;
      const hugeKey = (i: number) => `evil-${i}-`.padEnd(SHARED_LIMITS.maxKeyLength, "x");
      type BadUpdate = { what: string; mutate: (doc: Y.Doc) => void; expect: Expectation };
      const badUpdates = (): BadUpdate => {
        const id = ++n;
        const E = `evil-${id}`;
        const attrs = (d: Y.Doc) => d.getMap<unknown>(SharedKeys.attributes);
        const pose = (d: Y.Doc) => d.getMap<unknown>(SharedKeys.pose);
        const presets = (d: Y.Doc) => d.getMap<unknown>(SharedKeys.presets);
        const playback = (d: Y.Doc) => d.getMap<unknown>(SharedKeys.playback);
        const invalid = { refuse: "invalid-state: " } as const;
        const preset = (extra: Record<string, unknown> = {}) => ({
          attributes: { hair: 0.5 },
          savedBy: "evil",
          savedAt: 1,
          ...extra,
        });
        const wrongValues: unknown[] = [
          "x",
          5,
          -1.5,
          1.0001,
          NaN,
          Infinity,
          -Infinity,
          1e308,
          { a: 1 },
          [0.5],
          null,
          true,
          BigInt(1),
          new Uint8Array([1, 2]),
        ];
        const kinds: Array<() => BadUpdate> = [
          () => {
            const v = rng.pick(wrongValues);
            return {
              what: `attributes.${E}=${canon(v)}`,
              mutate: (d) => attrs(d).set(E, v),
              expect: { ...invalid, match: /attributes/ },
            };
          },
          () => {
            // An honest key: a concurrent honest write may hide the bad value, and then the update is harmless.
            const k = rng.pick(ATTR_KEYS),
              v = rng.pick(wrongValues);
            return {
              what: `attributes.${k}=${canon(v)}`,
              mutate: (d) => attrs(d).set(k, v),
              expect: { refuseOrAccept: "invalid-state: " },
            };
          },
          () => ({
            what: `attributes.${E}=Y.Map`,
            mutate: (d) => attrs(d).set(E, new Y.Map()),
            expect: { ...invalid, match: /shared type/ },
          }),
          () => ({
            what: `presets.${E}=Y.Text`,
            mutate: (d) => presets(d).set(E, new Y.Text("boom")),
            expect: { ...invalid, match: /shared type/ },
          }),
          () => ({
            what: `attributes.${E}=Y.Doc`,
            mutate: (d) => attrs(d).set(E, new Y.Doc()),
            expect: { ...invalid, match: /shared type/ },
          }),
          () => ({
            what: `presets.${E}=Y.Map holding a preset`,
            mutate: (d) => {
              const m = new Y.Map<unknown>();
              presets(d).set(E, m);
              m.set("attributes", { hair: 0.5 });
              m.set("savedBy", "evil");
              m.set("savedAt", 1);
            },
            expect: { ...invalid, match: /shared type/ },
          }),
          () => ({
            what: `root map ${E}`,
            mutate: (d) => d.getMap(E).set("k", 0.5),
            expect: { ...invalid, match: /unknown top-level/ },
          }),
          () => ({
            what: `root array ${E}`,
            mutate: (d) => d.getArray(E).insert(0, [1]),
            expect: { ...invalid, match: /unknown top-level/ },
          }),
          () => ({
            what: `root text ${E}`,
            mutate: (d) => d.getText(E).insert(0, "boom"),
            expect: { ...invalid, match: /unknown top-level/ },
          }),
          () => {
            const root = rng.pick(ROOTS);
            return {
              what: `list content in ${root}`,
              mutate: (d) => d.getArray(root).insert(0, [0.5]),
              expect: { ...invalid, match: /list content/ },
            };
          },
          () => ({
            what: "attributes key too long",
            mutate: (d) => attrs(d).set(`${E}-`.padEnd(SHARED_LIMITS.maxKeyLength + 1, "k"), 0.5),
            expect: invalid,
          }),
          () => ({ what: "attributes empty key", mutate: (d) => attrs(d).set("", 0.5), expect: invalid }),
          () => ({
            what: `${SHARED_LIMITS.maxAttributes + 1} attributes`,
            mutate: (d) => {
              for (let i = 0; i <= SHARED_LIMITS.maxAttributes; i++) attrs(d).set(`${E}-${i}`, 0.5);
            },
            expect: { ...invalid, match: /attributes/ },
          }),
          () => ({
            what: "unknown pose control",
            mutate: (d) => pose(d).set(`${E}Pose`, 0.5),
            expect: { ...invalid, match: /pose/ },
          }),
          () => {
            const c = rng.pick(POSE_CONTROLS);
            const v = rng.pick([c.max + 1, c.min - 0.5, NaN, "x"]);
            return {
              what: `pose.${c.name}=${canon(v)}`,
              mutate: (d) => pose(d).set(c.name, v),
              expect: { refuseOrAccept: "invalid-state: " },
            };
          },
          () => ({
            what: "unknown playback key",
            mutate: (d) => playback(d).set(E, 1),
            expect: { ...invalid, match: /playback/ },
          }),
          () => {
            const [k, v] = rng.pick<[string, unknown]>([
              ["clip", "evil-clip"],
              ["clip", 3],
              ["startedAt", -1],
              ["startedAt", "now"],
              ["startedAt", Infinity],
            ]);
            return {
              what: `playback.${k}=${canon(v)}`,
              mutate: (d) => playback(d).set(k, v),
              expect: { refuseOrAccept: "invalid-state: " },
            };
          },
          () => {
            const [label, value] = rng.pick<[string, unknown]>([
              ["savedBy too long", preset({ savedBy: "evil".padEnd(SHARED_LIMITS.maxUserName + 1, "!") })],
              ["attribute out of range", preset({ attributes: { hair: 2 } })],
              ["marker attribute out of range", preset({ attributes: { [E]: -3 } })],
              ["extra field", preset({ evil: true })],
              ["negative savedAt", preset({ savedAt: -1 })],
              ["NaN savedAt", preset({ savedAt: NaN })],
              ["no savedBy", { attributes: {}, savedAt: 1 }],
              ["a number", 5],
              ["a string", "evil"],
              ["attributes a string", preset({ attributes: "evil" })],
              [
                "attribute key too long",
                preset({ attributes: { [`${E}`.padEnd(SHARED_LIMITS.maxKeyLength + 1, "k")]: 0.5 } }),
              ],
              [
                "too many attributes",
                preset({
                  attributes: Object.fromEntries(
                    Array.from({ length: SHARED_LIMITS.maxAttributes + 1 }, (_, i) => [`a${i}`, 0]),
                  ),
                }),
              ],
            ]);
            return {
              what: `preset ${label}`,
              mutate: (d) => presets(d).set(E, value),
              expect: { ...invalid, match: /presets/ },
            };
          },
          () => ({
            what: "preset name too long",
            mutate: (d) => presets(d).set(`${E}`.padEnd(SHARED_LIMITS.maxPresetName + 1, "n"), preset()),
            expect: { ...invalid, match: /presets/ },
          }),
          () => ({
            what: `${SHARED_LIMITS.maxPresets + 1} presets`,
            mutate: (d) => {
              for (let i = 0; i <= SHARED_LIMITS.maxPresets; i++) presets(d).set(`${E}-${i}`, preset());
            },
            expect: { ...invalid, match: /presets/ },
          }),
          () => ({
            // Valid presets, twice maxDocBytes in all: only the size cap refuses them.
            what: "presets past maxDocBytes",
            mutate: (d) => {
              for (let p = 0; p < 8; p++) {
                const attributes = Object.fromEntries(
                  Array.from({ length: SHARED_LIMITS.maxAttributes }, (_, i) => [hugeKey(i), 0.123456789]),
                );
                presets(d).set(`${E}-${p}`, { attributes, savedBy: "evil", savedAt: 1 });
              }
            },
            expect: { ...invalid, match: /exceed/ },
          }),
          () => ({
            what: "valid write + invalid write in one update",
            mutate: (d) => {
              attrs(d).set(`${E}-valid`, 0.5);
              pose(d).set(`${E}Pose`, 0.5);
            },
            expect: invalid,
          }),
          () => ({
            what: "honest-looking deletes + invalid write in one update",
            mutate: (d) => {
              for (const k of ATTR_KEYS) attrs(d).delete(k);
              attrs(d).set(E, "x");
            },
            expect: invalid,
          }),
        ];
        return rng.pick(kinds)();
      };

      // ---- bad presence --------------------------------------------------------------
      const clockOf = (id: number) => {
        const c = (bad.clocks.get(id) ?? 0) + 1;
        bad.clocks.set(id, c);
        return c;
      };
      /** An id for the bad editor's own presence: one it owns, or a new one (which the quota may refuse). */
      const badOwnId = () => (bad.owned.size > 0 && rng.bool(0.6) ? rng.pick([...bad.owned]) : rng.clientId());
      const badPresence = async () => {
        const kind = rng.int(0, 5);
        if (kind === 0) {
          // Someone else's id: an honest editor (or the view client) whose presence the server holds.
          const targets = [
            ...honest.filter((h) => h.connected).map((h) => [h.label, h.client] as const),
            ...(view.connected ? [["view", view.client] as const] : []),
          ];
          if (targets.length === 0) return "no target";
          const [label, target] = rng.pick(targets);
          const id = target.doc.clientID;
          // A fresh local change first: a client that reconnects re-sends its presence with the clock the
          // server already saw (and dropped when the old socket closed), a stale entry the server skips, so
          // it shows (and owns) the id again only after the client's next change (or its 15 s renewal).
          target.provider.awareness.setLocalStateField("camera", {
            yawDeg: rng.inRange(-360, 360),
            pitchDeg: rng.inRange(-89, 89),
            distance: rng.inRange(0.1, 10),
          });
          const mine = canon(target.provider.awareness.getLocalState());
          await waitFor(
            () => canon(shared.awareness.getStates().get(id)) === mine,
            5000,
            `server presence of ${id}`,
          ).catch(() =>
            fail(
              `the server never showed ${label}'s presence (${id}); it has ${canon([...shared.awareness.getStates().keys()])}, ${label} is ${target.provider.wsconnected ? "connected" : "not connected"}, its local state ${canon(target.provider.awareness.getLocalState())}`,
            ),
          );
          const before = canon(shared.awareness.getStates().get(id));
          const json = JSON.stringify({ user: { name: "forbidden impostor", color: "#ff0000" } });
          await badSend(
            `presence for another connection's id`,
            forgedAwarenessMessage([{ clientId: id, clock: 1e6 + clockOf(id), json }]),
            {
              refuse: "invalid-presence: ",
              match: /another connection/,
            },
          );
          if (canon(shared.awareness.getStates().get(id)) !== before) fail(`the impostor changed presence ${id}`);
          return "impostor";
        }
        if (kind === 1) {
          // A valid state of its own: accepted while within the quota.
          const id = badOwnId();
          const within = bad.owned.has(id) || bad.owned.size < SHARED_LIMITS.maxClientIdsPerConnection;
          const json = rng.bool(0.2)
            ? "null"
            : JSON.stringify({ user: { name: `bad ${id}`, color: "#abcdef" }, dragging: rng.bool() ? null : "hair" });
          await badSend(
            "own valid presence",
            forgedAwarenessMessage([{ clientId: id, clock: clockOf(id), json }]),
            within ? { accept: true } : { refuse: "invalid-presence: ", match: /at most/ },
          );
          if (within) bad.owned.add(id);
          return within ? "own presence" : "presence past quota";
        }
        const invalidStates = [
          JSON.stringify({ user: { name: { boom: 1 }, color: "#112233" } }),
          JSON.stringify({ user: { name: "forbidden color", color: "url(x)" } }),
          JSON.stringify({ user: { name: "forbidden".padEnd(SHARED_LIMITS.maxUserName + 1, "!"), color: "#112233" } }),
          JSON.stringify({ user: { name: "forbidden extra", color: "#112233", admin: true } }),
          JSON.stringify({
            camera: { yawDeg: 1000, pitchDeg: 0, distance: 1 },
            user: { name: "forbidden camera", color: "#112233" },
          }),
          JSON.stringify({ camera: { yawDeg: "1", pitchDeg: 0, distance: 1 } }),
          JSON.stringify({ evil: 1 }),
          JSON.stringify({ dragging: "d".repeat(SHARED_LIMITS.maxKeyLength + 1) }),
          JSON.stringify({ dragging: 5 }),
          JSON.stringify([1, 2, 3]),
          "42",
          '"forbidden"',
          "{",
          "",
          JSON.stringify({
            user: { name: "forbidden big", color: "#112233" },
            dragging: "x".repeat(SHARED_LIMITS.maxPresenceBytes),
          }),
        ];
        if (kind === 2) {
          // Mixed: a valid state of its own and an invalid one; nothing of it may apply.
          const own = badOwnId();
          const other = bad.owned.has(own) ? rng.clientId() : own;
          const entries = [
            {
              clientId: own,
              clock: clockOf(own),
              json: JSON.stringify({ user: { name: "forbidden mixed", color: "#123456" } }),
            },
            { clientId: other, clock: clockOf(other), json: rng.pick(invalidStates) },
          ];
          await badSend("valid + invalid presence", forgedAwarenessMessage(entries), { refuse: "invalid-presence: " });
          return "mixed presence";
        }
        if (kind === 3) {
          // More ids than the quota in one message.
          const entries = Array.from({ length: SHARED_LIMITS.maxClientIdsPerConnection + 1 }, () => {
            const id = rng.clientId();
            return {
              clientId: id,
              clock: clockOf(id),
              json: JSON.stringify({ user: { name: "forbidden flood", color: "#123456" } }),
            };
          });
          await badSend("too many presence ids", forgedAwarenessMessage(entries), {
            refuse: "invalid-presence: ",
            match: /at most/,
          });
          return "presence flood";
        }
        const id = badOwnId();
        const overQuota = !bad.owned.has(id) && bad.owned.size >= SHARED_LIMITS.maxClientIdsPerConnection;
        const json = rng.pick(invalidStates);
        await badSend(
          `invalid presence ${json.slice(0, 40)}`,
          forgedAwarenessMessage([{ clientId: id, clock: clockOf(id), json }]),
          {
            refuse: "invalid-presence: ",
            match: overQuota ? /at most/ : /presence/,
          },
        );
        return "invalid presence";
      };

      // ---- malformed messages on throw-away sockets ---------------------------------
      const MALFORMED: Array<[string, number[]]> = [
        ["empty message", []],
        ["truncated message type", [0x80]],
        ["message type past 2^53", [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
        ["unknown message type", [9]],
        ["sync without sub-type", [0]],
        ["truncated sync sub-type", [0, 0x80]],
        ["unknown sync sub-type", [0, 7]],
        ["step 1 without state vector", [0, 0]],
        ["step 1 state vector past the end", [0, 0, 5, 1]],
        ["update without payload", [0, 2]],
        ["update length past the end", [0, 2, 10, 1, 2, 3]],
        ["garbage update", [0, 2, 200, 1, 2, 3, 255, 255]],
        ["garbage update bytes", [0, 2, 3, 0xff, 0xff, 0xff]],
        ["step 2 garbage", [0, 1, 4, 9, 9, 9, 9]],
        ["awareness without payload", [1]],
        ["awareness payload past the end", [1, 5, 1, 2]],
        ["awareness entry truncated", [1, 3, 1, 5, 0x80]],
        ["awareness string past the end", [1, 4, 1, 5, 1, 10]],
      ];
      const throwAway = async () => {
        const token = rng.pick([null, editToken, viewToken]);
        const sock = await rawYSocket(server.url, avatarId, token);
        return track(Object.assign(sock, { destroy: () => sock.ws.close() }));
      };
      const countStep2 = (received: Uint8Array[]) => received.filter((m) => m[0] === 0 && m[1] === 1).length;
      const malformed = async (which = rng.pick(MALFORMED)): Promise<string> => {
        const sock = await throwAway();
        const [what, bytes] = which;
        sock.ws.send(new Uint8Array(bytes));
        await waitFor(() => sock.closed(), 5000, `close after "${what}"`);
        count("closed 1007");
        if (sock.closed()!.code !== 1007)
          fail(`"${what}" closed the socket with ${canon(sock.closed())}, expected 1007`);
        drop(sock);
        return `malformed: ${what}`;
      };
      /**
       * Random bytes, or a valid update with a few bytes changed: the socket must close
       * with 1007, or the message be refused or harmless. Changed updates often carry a delete set or
       * structs that point past what the server has: see pendingPoison.
       */
      const mutated = async (kind: "random bytes" | "mutated update"): Promise<string> => {
        const sock = await throwAway();
        let bytes: Uint8Array;
        if (kind === "random bytes") {
          bytes = new Uint8Array(rng.int(1, 40)).map(() => rng.int(0, 255));
          bytes[0] = rng.pick([0, 0, 1, 1, 2, 3, rng.int(0, 255)]);
          if (bytes[0] === 0 && bytes.length > 1) bytes[1] = rng.int(0, 2);
        } else {
          await roundTrip();
          const update = forge((d) => d.getMap<number>(SharedKeys.attributes).set(rng.pick(ATTR_KEYS), slider()));
          bytes = updateMessage(update);
          for (let i = rng.int(1, 3); i > 0; i--) bytes[rng.int(3, bytes.length - 1)] = rng.int(0, 255);
        }
        const before = countStep2(sock.received);
        sock.ws.send(bytes);
        if (sock.ws.readyState === sock.ws.OPEN) sock.ws.send(syncStep1Message(new Y.Doc()));
        await waitFor(() => sock.closed() || countStep2(sock.received) > before, 5000, `an answer to ${kind}`);
        const closed = sock.closed();
        const denied = sock.deniedReasons();
        if (closed) {
          count(`${kind}: closed`);
          if (closed.code !== 1007)
            fail(`${kind} [${bytes.join(",")}] closed the socket with ${canon(closed)}, expected 1007`);
        } else {
          count(denied.length ? `${kind}: refused` : `${kind}: no effect or accepted`);
          for (const r of denied)
            if (!/^(invalid-state|invalid-presence|view-only): /.test(r))
              fail(`${kind} [${bytes.join(",")}] was refused with an unknown reason: ${r}`);
        }
        drop(sock);
        return `${kind} [${bytes.join(",")}] -> ${closed ? `closed ${closed.code}` : canon(denied)}`;
      };

      /**
       * An update that waits for an honest editor's next clocks. "struct": a value
       * whose left origin is the editor's next item, so the guard sees it only when that editor's own
       * edit integrates it (and refuses the honest edit). "delete": a delete set over the editor's next
       * 20 clocks, so the editor's coming edits are deleted on arrival, on the server and at every peer
       * except the editor itself, which the server never tells.
       */
      const pendingPoison = (target: Honest, variant: "struct" | "delete"): Uint8Array => {
        const E = `evil-${++n}`;
        const future = new Y.Doc();
        Y.applyUpdate(future, Y.encodeStateAsUpdate(bad.mirror));
        future.clientID = target.client.doc.clientID;
        const keys = variant === "struct" ? [E] : Array.from({ length: 20 }, (_, i) => `${E}-${i}`);
        for (const k of keys) future.getMap(SharedKeys.attributes).set(k, 0.5);
        const afterFuture = Y.encodeStateVector(future);
        const attack = new Y.Doc();
        Y.applyUpdate(attack, Y.encodeStateAsUpdate(future));
        attack.clientID = rng.clientId();
        attack.transact(() => {
          for (const k of keys) {
            if (variant === "struct") attack.getMap(SharedKeys.attributes).set(k, "poison");
            else attack.getMap(SharedKeys.attributes).delete(k);
          }
        });
        return Y.encodeStateAsUpdate(attack, afterFuture);
      };

      // ---- checks --------------------------------------------------------------------
      const serverState = () => canon(docState(shared.doc));
      const convergence = (): string[] => {
        pump();
        const want = serverState();
        const wantSv = stateVector(shared.doc);
        const diffs: string[] = [];
        for (const h of honest) {
          const p = h.client.provider;
          if (!p.wsconnected || !p.synced) diffs.push(`${h.label} not synced`);
          else if (canon(docState(h.client.doc)) !== want)
            diffs.push(
              `${h.label} (client ${h.client.doc.clientID}) state ${canon(docState(h.client.doc))}\n  its state vector ${stateVector(h.client.doc)}, the server's ${wantSv}${shared.doc.store.pendingStructs || shared.doc.store.pendingDs ? " (the server holds pending structs)" : ""}`,
            );
          else if (stateVector(h.client.doc) !== wantSv)
            diffs.push(`${h.label} state vector ${stateVector(h.client.doc)} != ${wantSv}`);
        }
        if (!reader.client.provider.synced) diffs.push("reader not synced");
        else if (canon(docState(reader.client.doc)) !== want)
          diffs.push(`reader state ${canon(docState(reader.client.doc))}`);
        if (!view.client.provider.synced) diffs.push("view not synced");
        else if (canon(withoutViewKeys(docState(view.client.doc))) !== want)
          diffs.push(`view state ${canon(withoutViewKeys(docState(view.client.doc)))}`);
        if (canon(docState(bad.mirror)) !== want) diffs.push(`bad mirror ${canon(docState(bad.mirror))}`);
        return diffs;
      };

      const checkpoint = async (label: string) => {
        for (const h of honest) {
          if (!h.connected) {
            h.client.provider.connect();
            h.connected = true;
          }
        }
        if (!view.connected) {
          view.client.provider.connect();
          view.connected = true;
        }
        if (!reader.connected) {
          reader.client.provider.connect();
          reader.connected = true;
        }
        await roundTrip();
        try {
          await waitFor(() => convergence().length === 0, 15_000, "convergence");
        } catch {
          const refusedHonest = honestDenials.filter((d) => d.reasons.length > 0);
          fail(
            `${label}: no convergence with the server ${serverState()}:\n${convergence().join("\n")}${refusedHonest.length ? `\nhonest editors were refused: ${canon(refusedHonest)}` : ""}`,
          );
        }
        // Property 1 for the editors also as vitest sees it.
        for (const h of honest)
          expect(docState(h.client.doc), `[${REPRO}] ${label}: ${h.label}`).toEqual(docState(shared.doc));
        const problem = sharedStateProblem(shared.doc);
        if (problem) fail(`${label}: server state invalid: ${problem}`);
        // Nothing of a refused update was applied: its client id never entered the server's state vector.
        const leaked = [...Y.decodeStateVector(Y.encodeStateVector(shared.doc)).keys()].filter(
          (c) => refusedClients.has(c) || c === view.client.doc.clientID || c === reader.client.doc.clientID,
        );
        if (leaked.length) fail(`${label}: the server holds structs of refused clients ${canon(leaked)}`);
        const markers = [
          ...markerProblems(docState(shared.doc), "server"),
          ...honest.flatMap((h) => markerProblems(docState(h.client.doc), h.label)),
          ...markerProblems(docState(reader.client.doc), "reader"),
        ];
        if (markers.length) fail(`${label}: ${markers.join("; ")}`);
        if (violations.length) fail(`${label}: ${violations.slice(0, 10).join("\n")}`);
        const refusedHonest = honestDenials.filter((d) => d.reasons.length > 0);
        if (refusedHonest.length) fail(`${label}: honest editors were refused: ${canon(refusedHonest)}`);
        const badView = view.denials.filter((r) => !r.startsWith("view-only: "));
        if (badView.length) fail(`${label}: view client refused with the wrong reason: ${canon(badView)}`);
        if (view.writes > 0) {
          await waitFor(() => view.denials.length > 0, 5000, "the view client's refusal").catch(() =>
            fail(`${label}: the view client wrote ${view.writes} times and was never refused`),
          );
        }
        if (reader.denials.some((r) => !r.startsWith("view-only: ")))
          fail(`${label}: reader refused with the wrong reason: ${canon(reader.denials)}`);
        if (reader.denials.length)
          fail(`${label}: the reader never wrote but was refused ${reader.denials.length} times: ${reader.denials[0]}`);
        if (shared.doc.store.pendingStructs || shared.doc.store.pendingDs)
          fail(`${label}: the server holds pending structs it never validated`);
        // Property 4: the stored rows replay to exactly the server's document.
        await shared.flushed();
        const rows = await server.db.docUpdate.findMany({ where: { avatarId }, orderBy: { id: "asc" } });
        const replay = new Y.Doc();
        for (const row of rows) Y.applyUpdate(replay, row.update);
        if (canon(docState(replay)) !== serverState())
          fail(`${label}: the stored rows replay to ${canon(docState(replay))}, the server has ${serverState()}`);
        if (stateVector(replay) !== stateVector(shared.doc))
          fail(`${label}: replayed state vector ${stateVector(replay)} != ${stateVector(shared.doc)}`);
        if (rows.length > COMPACT_AFTER)
          fail(`${label}: ${rows.length} rows stored, compaction is after ${COMPACT_AFTER}`);
        stats.largestDocBytes = Math.max(stats.largestDocBytes ?? 0, Y.encodeStateAsUpdate(shared.doc).byteLength);
        trace.push(`-- ${label}: converged, ${rows.length} rows, ${serverUpdates} server updates`);
      };

      // ---- the run -------------------------------------------------------------------
      type Action =
        | "edit"
        | "undo"
        | "presence"
        | "disconnect"
        | "reconnect"
        | "fresh"
        | "viewWrite"
        | "viewReconnect"
        | "readerReconnect"
        | "badUpdate"
        | "badPresence"
        | "badReconnect"
        | "malformed"
        | "randomBytes"
        | "mutatedUpdate"
        | "poison"
        | "squat"
        | "wait";
      const table: Array<readonly [number, Action]> = [
        [30, "edit"],
        [8, "undo"],
        [5, "presence"],
        [4, "disconnect"],
        [5, "reconnect"],
        [2, "fresh"],
        [3, "viewWrite"],
        [2, "viewReconnect"],
        [2, "readerReconnect"],
        [12, "badUpdate"],
        [7, "badPresence"],
        [1, "badReconnect"],
        [4, "malformed"],
        [3, "randomBytes"],
        [3, "mutatedUpdate"],
        [3, "poison"],
        [1, "squat"],
        [6, "wait"],
      ];
      // Every malformed kind once, whatever the seed; then at random among the rest.
      for (const which of MALFORMED) trace.push(`0: ${await malformed(which)}`);
      for (let i = 1; i <= ITERATIONS; i++) {
        const action = rng.weighted(table);
        current = `iteration ${i}, ${action}`;
        count(action);
        let note: string;
        switch (action) {
          case "edit": {
            const h = rng.pick(honest);
            note = `${h.label}${h.connected ? "" : " (offline)"}: ${honestEdit(h)}`;
            break;
          }
          case "undo": {
            const a = honest[0]!;
            const redo = rng.bool(0.35);
            const did = redo ? a.undo!.redo() : a.undo!.undo();
            note = `A ${redo ? "redo" : "undo"}${did ? "" : " (nothing)"}`;
            break;
          }
          case "presence": {
            const h = rng.pick(honest);
            note = `${h.label} ${setPresence(h.label, h.client)}`;
            break;
          }
          case "disconnect": {
            const h = rng.pick(honest.slice(0, 2));
            if (h.connected) {
              h.client.provider.disconnect();
              h.connected = false;
            }
            note = `${h.label} disconnect`;
            break;
          }
          case "reconnect": {
            const h = rng.pick(honest);
            if (!h.connected) {
              h.client.provider.connect();
              h.connected = true;
            }
            note = `${h.label} connect`;
            break;
          }
          case "fresh": {
            // C leaves for good (its edits were sent while connected) and comes back as a new client.
            const c = honest[2]!;
            drop(c.client);
            honest[2] = await makeHonest("C", c.token, false);
            note = "C replaced by a fresh client";
            break;
          }
          case "viewWrite": {
            const key = `view-${++n}`;
            if (rng.bool(0.7)) view.client.doc.getMap<number>(SharedKeys.attributes).set(key, slider());
            else
              view.client.doc
                .getMap<unknown>(SharedKeys.presets)
                .set(key, { attributes: {}, savedBy: "viewer", savedAt: 1 });
            view.writes++;
            note = `view writes ${key}${view.connected ? "" : " (offline)"}`;
            if (rng.bool(0.3)) note += `; view ${setPresence("viewer", view.client)}`;
            break;
          }
          case "viewReconnect":
          case "readerReconnect": {
            const v = action === "viewReconnect" ? view : reader;
            if (v.connected) v.client.provider.disconnect();
            else v.client.provider.connect();
            v.connected = !v.connected;
            note = `${action === "viewReconnect" ? "view" : "reader"} ${v.connected ? "connect" : "disconnect"}`;
            break;
          }
          case "badUpdate": {
            const b = badUpdates();
            // The server binds client ids to connections (SHARED_LIMITS.maxClientIdsPerConnection of them,
            // presence included): past the quota the bad editor writes under ids it already holds.
            const reuse = bad.owned.size >= SHARED_LIMITS.maxClientIdsPerConnection;
            const clientId = reuse ? rng.pick([...bad.owned]) : rng.clientId();
            await roundTrip();
            const update = forge(b.mutate, clientId);
            trace.push(`${i}: bad: ${b.what} (${update.byteLength} bytes, client ${clientId})`);
            const refusals = await badSend(b.what, updateMessage(update), b.expect);
            if (refusals.length && !reuse) refusedClients.add(clientId);
            if (!refusals.length) bad.owned.add(clientId);
            note = "";
            break;
          }
          case "badPresence": {
            note = `bad presence: ${await badPresence()}`;
            break;
          }
          case "badReconnect": {
            drop(bad.sock);
            bad.sock = track(await badSocket());
            bad.seen = 0;
            bad.step2s = 0;
            bad.owned.clear();
            note = "bad editor reconnects";
            break;
          }
          case "malformed":
            note = await malformed();
            break;
          case "randomBytes":
            note = await mutated("random bytes");
            break;
          case "mutatedUpdate":
            note = await mutated("mutated update");
            break;
          case "poison": {
            const target = rng.pick(honest); // offline or not: its next edits arrive some time
            await roundTrip();
            const variant = rng.pick(["struct", "delete", "spoof"] as const);
            if (variant === "spoof") {
              // A valid write made under the target's client id, at the target's next clock.
              const update = forge(
                (d) => d.getMap<number>(SharedKeys.attributes).set(rng.pick(ATTR_KEYS), slider()),
                target.client.doc.clientID,
              );
              await badSend(`write under ${target.label}'s client id`, updateMessage(update), { refuseOrAccept: "" });
            } else {
              await badSend(
                `pending ${variant} poison for ${target.label}`,
                updateMessage(pendingPoison(target, variant)),
                { refuseOrAccept: "invalid-state: " },
              );
            }
            note = `bad: ${variant} attack on ${target.label}`;
            break;
          }
          case "squat": {
            // An honest editor reconnects; before its next presence change, the bad editor claims its id.
            const target = rng.pick(honest.slice(0, 2));
            target.client.provider.disconnect();
            target.client.provider.connect();
            target.connected = true;
            await waitFor(() => target.client.provider.synced, 5000, `${target.label} reconnect`);
            await sleep(100); // its presence message follows its sync step 1
            const id = target.client.doc.clientID;
            const json = JSON.stringify({ user: { name: "forbidden squatter", color: "#ff0000" } });
            await badSend(
              `presence for ${target.label}'s id after its reconnect`,
              forgedAwarenessMessage([{ clientId: id, clock: 1e6 + clockOf(id), json }]),
              {
                refuse: "invalid-presence: ",
                match: /another connection/,
              },
            );
            note = `bad: squats ${target.label}'s presence id`;
            break;
          }
          case "wait": {
            const ms = rng.int(0, 40);
            await sleep(ms);
            note = `wait ${ms} ms`;
            break;
          }
        }
        if (note) trace.push(`${i}: ${note}`);
        await tick();
        if (violations.length) fail(`after iteration ${i}: ${violations.slice(0, 10).join("\n")}`);
        if (i % CHECK_EVERY === 0) {
          current = `checkpoint ${i}`;
          await checkpoint(current);
        }
      }
      current = "the end";
      await checkpoint("end");

      // Property 5: the server is up, and a newcomer syncs to the same state.
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status, `[${REPRO}] /healthz`).toBe(200);
      const newcomer = track(await connectYClient(server.url, avatarId, editToken));
      await waitFor(() => canon(docState(newcomer.doc)) === serverState(), 5000, "newcomer sync").catch(() =>
        fail(`a fresh client synced to ${canon(docState(newcomer.doc))}, the server has ${serverState()}`),
      );
      expect(stateVector(newcomer.doc), `[${REPRO}] newcomer state vector`).toBe(stateVector(shared.doc));
      expect(violations, `[${REPRO}] violations`).toEqual([]);

      // Property 6, summed up: refusals happened, and of the expected kinds (each was checked as it came).
      const refused = Object.entries(stats)
        .filter(([k]) => k.startsWith("refused "))
        .reduce((s, [, v]) => s + v, 0);
      if (ITERATIONS >= 50) expect(refused, `[${REPRO}] refusals seen`).toBeGreaterThan(0);
      console.log(
        `yjs fuzz ${REPRO}: ${serverUpdates} server updates, ${refused} refusals, view refused ${view.denials.length}x, reader refused ${reader.denials.length}x, stats ${canon(stats)}`,
      );
    } catch (err) {
      if (err instanceof FuzzFailure) throw err;
      fail(`unexpected error: ${(err as Error).stack ?? String(err)}`);
    } finally {
      for (const thing of [...live].reverse()) {
        try {
          thing.destroy();
        } catch {
          // A client broken by the run must not hide the failure.
        }
      }
      server.docs.release(shared);
    }
  });
});
