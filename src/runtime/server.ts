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

/** What every port of sluice's allows a client, so that slow or hostile ones cannot hold it (Go's http.Server knobs). */
export const serverLimits = {
  maxHeaderSize: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  /** A connection with nothing sent either way for this long is closed (a slow client; the UI's streams beat every 15 s). */
  idleTimeoutMs: 20_000,
  maxConnections: 256,
};

/**
 * An HTTP server with `serverLimits`, whose handler may throw or reject without ending the process: the request
 * then gets a 500 (the cause stays in the server; a client learns nothing from it).
 */
export function createServer(
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>,
): http.Server {
  const failed = (res: http.ServerResponse): void => {
    if (!res.headersSent) send(res, { status: 500, body: 'internal error\n' });
    else res.destroy();
  };
  const server = http.createServer(
    {
      maxHeaderSize: serverLimits.maxHeaderSize,
      headersTimeout: serverLimits.headersTimeoutMs,
      requestTimeout: serverLimits.requestTimeoutMs,
      keepAliveTimeout: serverLimits.keepAliveTimeoutMs,
    },
    (req, res) => {
      try {
        void Promise.resolve(handle(req, res)).catch(() => failed(res));
      } catch {
        failed(res);
      }
    },
  );
  server.maxConnections = serverLimits.maxConnections;
  // Node checks the two timeouts above every 30 s only; a client that sent half its headers and went quiet is
  // closed sooner by the idle timeout.
  server.setTimeout(serverLimits.idleTimeoutMs);
  return server;
}

/** The request's target as a URL, or undefined when it is not one (then the answer is 400). */
export function requestUrl(req: http.IncomingMessage): URL | undefined {
  try {
    const url = new URL(req.url ?? '/', 'http://localhost');
    decodeURIComponent(url.pathname);
    return url;
  } catch {
    return undefined;
  }
}

export const badRequest: Response = { status: 400, body: '400 bad request\n' };

/** Serves `routes` (path -> handler, GET and HEAD only) on `address`; resolves once listening. */
export async function serve(address: string, routes: Record<string, Route>): Promise<HttpServer> {
  return listen(address, (req, res) => {
    const url = requestUrl(req);
    if (!url) return send(res, badRequest);
    const route = Object.hasOwn(routes, url.pathname) ? routes[url.pathname] : undefined;
    if (!route) return send(res, { status: 404, body: '404 page not found\n' });
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, { status: 405, body: 'method not allowed\n' });
    Promise.resolve()
      .then(route)
      .then(
        (response) => send(res, response),
        () => send(res, { status: 500, body: 'internal error\n' }),
      );
  });
}

async function listen(address: string, handle: http.RequestListener): Promise<HttpServer> {
  const { host, port } = parseListenAddress(address);
  const server = createServer(handle);
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
    const url = requestUrl(req);
    const pathname = url && decodeURIComponent(url.pathname);
    if (!pathname || pathname.includes('\0')) return send(res, badRequest);
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
