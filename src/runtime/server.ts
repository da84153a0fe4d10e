// The controller's HTTP endpoints (metrics, health and readiness probes, the artifact storage) on node:http: a
// handful of GET routes and a file server need no framework. Addresses are written as Go's net.Listen takes them (":8080", "127.0.0.1:0").
import http from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

export interface ListenAddress {
  /** undefined listens on every interface, as ":8080" does in Go. */
  host: string | undefined;
  port: number;
}

/** Parses "host:port", ":port" or "[v6]:port"; throws on anything else. */
export function parseListenAddress(address: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(address);
  const port = Number(match?.[3]);
  if (!match || port > 65535)
    throw new Error(`invalid listen address "${address}": expected host:port or :port`);
  return { host: match[1] ?? (match[2] || undefined), port };
}

/** How a listening server is named in logs and by tests: "127.0.0.1:41234", "[::]:8080". */
export function formatAddress(info: AddressInfo): string {
  return info.family === 'IPv6' ? `[${info.address}]:${info.port}` : `${info.address}:${info.port}`;
}

export interface Response {
  status: number;
  body: string;
  contentType?: string;
}

export type Route = () => Response | Promise<Response>;

export interface HttpServer {
  /** The bound address, with the real port when ":0" was asked for. */
  address: string;
  close(): Promise<void>;
}

/** Serves `routes` (path -> handler, GET and HEAD only) on `address`; resolves once listening. */
export async function serve(address: string, routes: Record<string, Route>): Promise<HttpServer> {
  return listen(address, (req, res) => {
    const route = routes[new URL(req.url ?? '/', 'http://localhost').pathname];
    if (!route) return send(res, { status: 404, body: '404 page not found\n' });
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, { status: 405, body: 'method not allowed\n' });
    Promise.resolve()
      .then(route)
      .then(
        (response) => send(res, response),
        (error: unknown) => send(res, { status: 500, body: `${String(error)}\n` }),
      );
  });
}

async function listen(address: string, handle: http.RequestListener): Promise<HttpServer> {
  const { host, port } = parseListenAddress(address);
  const server = http.createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address: formatAddress(server.address() as AddressInfo),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Probes and scrapes keep connections alive; closing must not wait for them.
        server.closeAllConnections();
      }),
  };
}

/**
 * Serves the files under `root` (GET and HEAD), as source-controller's storage server serves artifacts:
 * `/<kind>/<namespace>/<name>/<file>`. A path leaving the root, a directory or a missing file is a 404.
 */
export async function serveFiles(address: string, root: string): Promise<HttpServer> {
  const base = path.resolve(root);
  return listen(address, (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, { status: 405, body: 'method not allowed\n' });
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = path.resolve(base, `.${pathname}`);
    if (!file.startsWith(base + path.sep)) return send(res, { status: 404, body: '404 page not found\n' });
    stat(file).then(
      (info) => {
        if (!info.isFile()) return send(res, { status: 404, body: '404 page not found\n' });
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': String(info.size),
        });
        if (req.method === 'HEAD') return res.end();
        createReadStream(file)
          .on('error', () => res.destroy())
          .pipe(res);
      },
      () => send(res, { status: 404, body: '404 page not found\n' }),
    );
  });
}

function send(res: http.ServerResponse, response: Response): void {
  res.writeHead(response.status, { 'content-type': response.contentType ?? 'text/plain; charset=utf-8' });
  res.end(response.body);
}
