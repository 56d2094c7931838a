import type { ServerResponse } from 'node:http';
import { AppError, toAppError } from '../errors.js';
import type { Logger } from '../logger.js';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.end();
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

/** The one place REST maps a thrown value to a response. A 500 is logged: it is a bug. */
export function sendError(res: ServerResponse, err: unknown, logger: Logger): void {
  const appErr = toAppError(err);
  if (appErr.httpStatus >= 500 && appErr.code !== 'not_ready') {
    logger.error({ err: err instanceof AppError ? (appErr.cause ?? appErr) : err, code: appErr.code }, 'request failed');
  }
  sendJson(res, appErr.httpStatus, { ok: false, error: appErr.toBody() }, appErr.headers);
}
