/**
 * A TCP balancer for running a cluster on one machine (npm run cluster, the
 * e2e and bench:cluster): each incoming connection goes to the next web
 * process in turn; one that refuses is skipped for a second. Production puts
 * its own balancer here (docs/deploy.md); the studio needs no stickiness,
 * because its browsers speak websockets only and any process serves any
 * request.
 */
import net from "node:net";

export interface Balancer {
  port: number;
  close(): Promise<void>;
}

const DOWN_MS = 1000;

export async function startBalancer(
  backends: readonly number[],
  options: { port?: number; host?: string } = {},
): Promise<Balancer> {
  const downUntil = new Map<number, number>();
  const open = new Set<net.Socket>();
  let next = 0;

  function connect(client: net.Socket, tried: number): void {
    const now = Date.now();
    const candidates = backends.filter((p) => (downUntil.get(p) ?? 0) <= now);
    if (tried >= backends.length || candidates.length === 0) return void client.destroy();
    const port = candidates[next++ % candidates.length]!;
    const upstream = net.connect(port, "127.0.0.1");
    open.add(upstream);
    upstream.once("close", () => open.delete(upstream));
    let piped = false;
    upstream.once("error", () => {
      if (piped || client.destroyed) return void client.destroy();
      // Refused: that process is down; the connection goes to the next one.
      downUntil.set(port, Date.now() + DOWN_MS);
      connect(client, tried + 1);
    });
    upstream.once("connect", () => {
      piped = true;
      client.pipe(upstream).pipe(client);
      client.once("error", () => upstream.destroy());
      client.once("close", () => upstream.destroy());
      upstream.once("close", () => client.destroy());
      client.resume();
    });
  }

  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    open.add(client);
    client.once("close", () => open.delete(client));
    client.on("error", () => client.destroy());
    connect(client, 0);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
