// `dae serve`: a read-only HTTP server on the loopback interface for the interactive page. It serves the built page
// (web/dist), the run's saved models for tf.loadLayersModel, and the two small API answers of ./api.ts. Nothing else
// of the file system is reachable: models by an allow-list of folder and file names, page files only from inside
// web/dist, and any path with `..`, `.`, empty or backslash segments is refused.
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import { modelJsonName, weightsName } from '../io/model-files.js';
import { loadRunData } from './run-data.js';
import type { RunData } from './run-data.js';

export interface ServeOptions {
  /** 0 picks a free port; the returned url says which. */
  port: number;
  /** Only the IPv4 loopback address: the page and the models are for this machine alone. */
  host?: '127.0.0.1';
  /** The built page; default web/dist of this package. */
  webRoot?: string;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** The server cannot start: page not built, port taken. One-line message with a hint. */
export class ServeError extends Error {
  override readonly name = 'ServeError';
  readonly hint: string;

  constructor(problem: string, hint: string, options?: ErrorOptions) {
    super(`${problem} — ${hint}`, options);
    this.hint = hint;
  }
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
};

// The page may talk to this server only: a second line of defence for "no request leaves the machine".
const securityHeaders = {
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
    "form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

/** The package's web/dist, found by walking up from this module (src/serve or dist/src/serve) to package.json. */
export function defaultWebRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(directory, 'package.json')) && dirname(directory) !== directory)
    directory = dirname(directory);
  return join(directory, 'web', 'dist');
}

/** URL path -> its segments, or null when any segment could leave the folder it is resolved against. */
export function safeSegments(pathname: string): string[] | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (!decoded.startsWith('/')) return null;
  const segments = decoded.slice(1).split('/');
  if (segments.length === 1 && segments[0] === '') return [];
  const unsafe = (segment: string) => segment === '' || segment === '.' || segment === '..' || /[\\\0:]/.test(segment);
  return segments.some(unsafe) ? null : segments;
}

function send(
  response: ServerResponse,
  status: number,
  body: string | Uint8Array,
  contentType: string,
  head: boolean,
): void {
  response.writeHead(status, {
    ...securityHeaders,
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
  });
  response.end(head ? undefined : body);
}

async function sendFile(response: ServerResponse, file: string, head: boolean): Promise<boolean> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) return false;
  send(response, 200, await readFile(file), contentTypes[extname(file)] ?? 'application/octet-stream', head);
  return true;
}

function handler(data: RunData, webRoot: string, port: () => number) {
  const summaryJson = JSON.stringify(data.summary);
  const allowedHosts = () => new Set([`127.0.0.1:${port()}`, `localhost:${port()}`]);
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const head = request.method === 'HEAD';
    const text = (status: number, message: string) =>
      send(response, status, `${message}\n`, 'text/plain; charset=utf-8', head);
    if (request.method !== 'GET' && !head) {
      response.setHeader('Allow', 'GET, HEAD');
      return text(405, 'read-only server: GET and HEAD only');
    }
    // Exactly one Host header (RFC 9112, 3.2): Node keeps only the first of several, which must not vouch for the rest.
    if ((request.headersDistinct['host'] ?? []).length !== 1)
      return text(400, 'a request needs exactly one Host header');
    // A page on another origin that rebinds its host name to 127.0.0.1 still sends its own Host header.
    if (!allowedHosts().has(request.headers.host ?? ''))
      return text(421, 'this server answers to 127.0.0.1 and localhost only');
    // The raw path, not a URL-normalised one: a request that spells `..` is refused, not quietly resolved.
    const segments = safeSegments((request.url ?? '/').split(/[?#]/)[0] ?? '/');
    if (segments === null) return text(400, 'bad path');
    const path = segments.join('/');

    if (path === 'api/run.json') return send(response, 200, summaryJson, contentTypes['.json']!, head);
    if (path === 'api/digits.bin') return send(response, 200, data.digitBytes, contentTypes['.bin']!, head);
    const [first, name, file, ...rest] = segments;
    if (first === 'models') {
      if (
        rest.length > 0 ||
        name === undefined ||
        !data.modelNames.has(name) ||
        (file !== modelJsonName && file !== weightsName)
      ) {
        return text(404, 'no such model file');
      }
      if (!(await sendFile(response, join(data.directory, 'models', name, file), head)))
        text(404, 'no such model file');
      return;
    }
    const target = resolve(webRoot, path === '' ? 'index.html' : path);
    if (!target.startsWith(webRoot + sep) || !(await sendFile(response, target, head))) text(404, 'not found');
  };
}

/** Checks the run folder, then serves its page on 127.0.0.1. Throws RunFolderError or ServeError before listening. */
export async function serveRun(directory: string, options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  if (host !== '127.0.0.1')
    throw new ServeError(`host ${String(host)} is not allowed`, 'the page is served on 127.0.0.1 only');
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new ServeError(`--port must be a whole number from 0 to 65535, got ${options.port}`, 'pass e.g. --port 8765');
  }
  const webRoot = resolve(options.webRoot ?? defaultWebRoot());
  if (!existsSync(join(webRoot, 'index.html'))) {
    throw new ServeError(
      `the page is not built (${join(webRoot, 'index.html')} is missing)`,
      'run `npm run build` in the dae-pretrain folder',
    );
  }
  const data = await loadRunData(directory);

  let boundPort = options.port;
  const handle = handler(data, webRoot, () => boundPort);
  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent)
        send(response, 500, `internal error: ${String(error)}\n`, 'text/plain; charset=utf-8', false);
      else response.destroy();
    });
  });
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE')
        rejectListen(
          new ServeError(`port ${options.port} on ${host} is in use`, 'pass another --port', { cause: error }),
        );
      else if (error.code === 'EACCES')
        rejectListen(
          new ServeError(`port ${options.port} needs privileges`, 'pass a --port above 1023', { cause: error }),
        );
      else rejectListen(error);
    });
    server.listen(options.port, host, () => resolveListen());
  });
  boundPort = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${boundPort}/`,
    close: () =>
      new Promise<void>((resolveClose, rejectClose) => {
        server.close((error) => (error ? rejectClose(error) : resolveClose()));
        server.closeAllConnections();
      }),
  };
}

export { newestCompleteRun } from './run-data.js';
