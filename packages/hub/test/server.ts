import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback HTTP server started by a test. */
export interface Served {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  /** Every request received: its path and Range header. */
  requests: { path: string; range: string | undefined }[];
  close(): Promise<void>;
}

/** Handles the `index`-th request (0-based). */
export type Handler = (req: IncomingMessage, res: ServerResponse, index: number) => void;

/** Starts a server on 127.0.0.1 at a free port. */
export async function serve(handler: Handler): Promise<Served> {
  const requests: Served['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({ path: req.url ?? '', range: req.headers.range });
    handler(req, res, requests.length - 1);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** How {@link fileHandler} serves. */
export interface FileOptions {
  /** Honour Range requests with 206 (default true); false sends the whole file with 200. */
  ranges?: boolean;
  /** Bytes of the body sent before the connection is cut, for the request of that index. */
  cutAfter?: Record<number, number>;
}

/** Serves `bytes` at every path, as a static file server would. */
export function fileHandler(bytes: Uint8Array, opts: FileOptions = {}): Handler {
  return (req, res, index) => {
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range && opts.ranges !== false ? Number(range[1]) : 0;
    if (start >= bytes.length && start > 0) {
      res.writeHead(416, { 'content-range': `bytes */${bytes.length}` }).end();
      return;
    }
    const headers: Record<string, string | number> = { 'content-length': bytes.length - start };
    if (range && opts.ranges !== false)
      headers['content-range'] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
    res.writeHead(start > 0 ? 206 : 200, headers);
    const cut = opts.cutAfter?.[index];
    if (cut === undefined) {
      res.end(bytes.subarray(start));
      return;
    }
    // Cut once the client has had time to read what was sent (a stream that
    // errors drops the chunks it has not handed out yet).
    res.write(bytes.subarray(start, start + cut), () =>
      setTimeout(() => res.socket?.destroy(), 200),
    );
  };
}

/** Random bytes and the hex SHA-256 of them. */
export function payload(size: number): { bytes: Uint8Array; sha256: string } {
  const bytes = new Uint8Array(randomBytes(size));
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}
