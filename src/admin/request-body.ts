import type { IncomingMessage } from 'node:http';
import { ApiError } from './api-error.js';

/**
 * The request body, at most `maxBytes` (a larger Content-Length is refused before reading; a body that grows
 * past the cap while streaming stops being read). 413 `body_too_large` either way.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new ApiError(413, 'body_too_large', `the request body is larger than ${maxBytes} bytes`);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) {
    req.resume(); // discard it, so the client reads the 413 instead of a reset connection
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
