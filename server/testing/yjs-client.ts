/**
 * Node-side Yjs clients for tests: the real y-websocket provider (as the
 * browser uses it), and a raw websocket for hand-forged messages.
 */
import * as Y from "yjs";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as encoding from "lib0/encoding";
import * as decoding from "lib0/decoding";
import * as syncProtocol from "y-protocols/sync";
import { waitFor } from "./harness";

export interface YClient {
  doc: Y.Doc;
  provider: WebsocketProvider;
  destroy(): void;
}

export async function connectYClient(baseUrl: string, avatarId: string, token: string | null = null): Promise<YClient> {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(baseUrl.replace(/^http/, "ws") + "/yjs", avatarId, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    params: token ? { token } : {},
    disableBc: true,
  });
  await waitFor(() => provider.synced, 5000, "y-websocket sync");
  return {
    doc,
    provider,
    destroy() {
      provider.destroy();
      doc.destroy();
    },
  };
}

/** A raw websocket to /yjs with every message it receives kept, decoded by type. */
export async function rawYSocket(baseUrl: string, avatarId: string, token: string | null = null) {
  const url = `${baseUrl.replace(/^http/, "ws")}/yjs/${avatarId}${token ? `?token=${token}` : ""}`;
  const ws = new WebSocket(url);
  const received: Uint8Array[] = [];
  let closed: { code: number; reason: string } | null = null;
  ws.on("message", (data: Buffer) => received.push(new Uint8Array(data)));
  ws.on("close", (code, reason) => (closed = { code, reason: reason.toString() }));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
  });
  return {
    ws,
    received,
    closed: () => closed,
    /** Sends a sync "update" message carrying `update`. */
    sendUpdate(update: Uint8Array) {
      const enc = encoding.createEncoder();
      encoding.writeVarUint(enc, 0);
      syncProtocol.writeUpdate(enc, update);
      ws.send(encoding.toUint8Array(enc));
    },
    /** Auth messages (type 2) received: the reasons of permission-denied answers. */
    deniedReasons(): string[] {
      return received
        .filter((m) => m[0] === 2)
        .map((m) => {
          const d = decoding.createDecoder(m);
          decoding.readVarUint(d);
          decoding.readVarUint(d);
          return decoding.readVarString(d);
        });
    },
  };
}

/** An update that sets attributes.<key> = value, made on a scratch document. */
export function forgedAttributeUpdate(key: string, value: number): Uint8Array {
  const scratch = new Y.Doc();
  scratch.getMap("attributes").set(key, value);
  return Y.encodeStateAsUpdate(scratch);
}
