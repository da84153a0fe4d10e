// Malformed and hostile HTTP requests, sent raw over TCP to one of sluice's ports (the controller's artifact,
// metrics and health servers, `sluice ui`): what any pod, or any local user, can send. The tests send the whole
// table and then check that the process still answers and still works.
import net from 'node:net';

export interface HostileRequest {
  name: string;
  /** The bytes sent, as written; `{host}` is replaced by the Host header value. */
  raw: string;
}

const long = 'a'.repeat(64 * 1024);

export const hostileRequests: HostileRequest[] = [
  { name: 'a lone percent sign', raw: 'GET /% HTTP/1.1\r\nHost: {host}\r\n\r\n' },
  { name: 'a broken percent escape', raw: 'GET /%E0%A4%A HTTP/1.1\r\nHost: {host}\r\n\r\n' },
  { name: 'a target that is no URL', raw: 'GET //[x HTTP/1.1\r\nHost: {host}\r\n\r\n' },
  { name: 'dot segments', raw: 'GET /../../../../etc/passwd HTTP/1.1\r\nHost: {host}\r\n\r\n' },
  {
    name: 'escaped dot segments',
    raw: 'GET /%2e%2e/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: {host}\r\n\r\n',
  },
  { name: 'an escaped NUL', raw: 'GET /gitrepository/%00 HTTP/1.1\r\nHost: {host}\r\n\r\n' },
  {
    name: 'an absolute-form target',
    raw: 'GET http://169.254.169.254/latest HTTP/1.1\r\nHost: {host}\r\n\r\n',
  },
  { name: 'an unknown method', raw: 'BREW /metrics HTTP/1.1\r\nHost: {host}\r\n\r\n' },
  { name: 'a header of 64 KiB', raw: `GET /metrics HTTP/1.1\r\nHost: {host}\r\nX-Big: ${long}\r\n\r\n` },
  { name: 'a very long target', raw: `GET /${long} HTTP/1.1\r\nHost: {host}\r\n\r\n` },
  { name: 'binary garbage', raw: '\u0000\u0001\u0002\u00ff\r\n\r\n' },
  {
    name: 'a broken chunked body',
    raw: 'POST /healthz HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
  },
  {
    name: 'two lengths',
    raw: 'POST /healthz HTTP/1.1\r\nHost: {host}\r\nContent-Length: 1\r\nContent-Length: 5\r\n\r\nx',
  },
  {
    name: 'a huge content length',
    raw: 'POST /healthz HTTP/1.1\r\nHost: {host}\r\nContent-Length: 99999999999999999999\r\n\r\n',
  },
  { name: 'no Host on HTTP/1.1', raw: 'GET /healthz HTTP/1.1\r\n\r\n' },
  { name: 'HTTP/0.9', raw: 'GET /\r\n\r\n' },
];

export interface HostileAnswer {
  name: string;
  /** The status line's code, or undefined when the server closed without one. */
  status: number | undefined;
  /** The first bytes of the answer. */
  head: string;
}

/**
 * Sends `request` on a connection of its own, without closing its side, and returns what came back before the
 * server closed, or went quiet for half a second after answering, or 5 s passed.
 */
export function sendRaw(
  port: number,
  request: HostileRequest,
  host = `127.0.0.1:${port}`,
): Promise<HostileAnswer> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    let timer: NodeJS.Timeout;
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1];
      resolve({
        name: request.name,
        status: status ? Number(status) : undefined,
        head: answer.slice(0, 2000),
      });
    };
    timer = setTimeout(done, 5000);
    socket.on('connect', () => socket.write(request.raw.replaceAll('{host}', host)));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(done, 500);
    });
    socket.on('error', done);
    socket.on('close', done);
  });
}

/**
 * Opens a connection that sends half a request and then nothing; resolves with how long the server kept it open
 * (or `limitMs` when it was still open then).
 */
export function slowClient(port: number, limitMs: number): Promise<number> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1', () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'));
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Date.now() - started);
    };
    const timer = setTimeout(done, limitMs);
    socket.on('error', done);
    socket.on('close', done);
  });
}
