import http from 'node:http';

export interface RawRequest {
  method: string;
  /** path and query exactly as sent on the request line */
  path: string;
  headers: Record<string, string | string[]>;
  body?: Buffer;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/**
 * One HTTP request with the path sent as it is (fetch would normalise `..`, `%2e` and the like)
 * and headers fetch refuses to send. Keep-alive, so thousands of requests stay cheap.
 */
export function rawClient(base: string): { send(r: RawRequest, o?: { fresh?: boolean }): Promise<RawResponse>; close(): void } {
  const url = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  return {
    send: (r, o = {}) =>
      new Promise<RawResponse>((resolve, reject) => {
        const req = http.request(
          { host: url.hostname, port: url.port, method: r.method, path: r.path, headers: { ...r.headers, ...(r.body ? { 'content-length': String(r.body.length) } : {}) }, agent: o.fresh ? false : agent },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(r.body);
      }),
    close: () => agent.destroy(),
  };
}
