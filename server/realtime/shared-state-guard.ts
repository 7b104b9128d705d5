/**
 * The server's side of the shared-state rules (protocol/schemas.ts):
 *
 * - The document: an incoming Yjs update is applied to a validation mirror
 *   of the document first; only when the mirror's whole state still passes
 *   the schema (and stays under the size cap) is the update applied to the
 *   real document. A refused update leaves the real document untouched and
 *   the mirror is rebuilt from it.
 * - Presence (awareness): the entries of an update are read without applying
 *   them, so YjsServer can check each against the schema and its owner.
 */
import * as Y from "yjs";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import { sharedStateProblem } from "../../protocol/schemas";

export interface DocGuardOptions {
  /** Largest encoded document, bytes (MAX_DOC_BYTES). */
  maxDocBytes: number;
}

export type GuardVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Guards one shared document. The mirror follows the real document through
 * its update events, so checking an update costs one extra apply and one
 * schema pass over a small state, not a copy of the document.
 */
export class DocGuard {
  private mirror: Y.Doc | null = null;
  /** An upper bound of the encoded size: exact after a measurement, then plus every accepted update. */
  private boundBytes: number;
  private readonly offUpdate: () => void;

  constructor(
    private readonly doc: Y.Doc,
    private readonly options: DocGuardOptions,
  ) {
    this.boundBytes = Y.encodeStateAsUpdate(doc).byteLength;
    const follow = (update: Uint8Array) => {
      if (this.mirror) Y.applyUpdate(this.mirror, update);
    };
    doc.on("update", follow);
    this.offUpdate = () => doc.off("update", follow);
  }

  /** Whether `update` may be applied to the document; never changes the document. */
  check(update: Uint8Array): GuardVerdict {
    this.mirror ??= cloneDoc(this.doc);
    Y.applyUpdate(this.mirror, update);
    const problem = sharedStateProblem(this.mirror);
    if (problem) {
      this.dropMirror();
      return { ok: false, reason: problem };
    }
    this.boundBytes += update.byteLength;
    if (this.boundBytes > this.options.maxDocBytes) {
      this.boundBytes = Y.encodeStateAsUpdate(this.mirror).byteLength;
      if (this.boundBytes > this.options.maxDocBytes) {
        this.dropMirror();
        this.boundBytes = Y.encodeStateAsUpdate(this.doc).byteLength;
        return { ok: false, reason: `the avatar's shared state would exceed ${this.options.maxDocBytes} bytes` };
      }
    }
    return { ok: true };
  }

  private dropMirror(): void {
    this.mirror?.destroy();
    this.mirror = null;
  }

  destroy(): void {
    this.offUpdate();
    this.dropMirror();
  }
}

function cloneDoc(doc: Y.Doc): Y.Doc {
  const copy = new Y.Doc({ gc: true });
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  return copy;
}

export interface AwarenessEntry {
  clientId: number;
  clock: number;
  /** The JSON text as sent ("null" removes the client). */
  json: string;
}

/** The entries of an awareness update (y-protocols' encoding), without applying it. */
export function readAwarenessEntries(update: Uint8Array): AwarenessEntry[] {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  const entries: AwarenessEntry[] = [];
  for (let i = 0; i < count; i++) {
    entries.push({ clientId: decoding.readVarUint(decoder), clock: decoding.readVarUint(decoder), json: decoding.readVarString(decoder) });
  }
  return entries;
}

/** The inverse of readAwarenessEntries. */
export function encodeAwarenessEntries(entries: readonly AwarenessEntry[]): Uint8Array {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, entries.length);
  for (const { clientId, clock, json } of entries) {
    encoding.writeVarUint(enc, clientId);
    encoding.writeVarUint(enc, clock);
    encoding.writeVarString(enc, json);
  }
  return encoding.toUint8Array(enc);
}

