// Reads that prefer WhatsApp but fall back to the local store when it is not connected.
import type { Engine } from '../engine/engine.js';
import { AppError } from '../errors.js';

export const SOURCES = ['engine', 'store'] as const;

/**
 * Run `read` against the engine when it is connected; null when it is not (or drops mid-call), so the caller
 * answers from the store instead of failing with not_ready. Other errors (not_found, engine_error) pass through.
 */
export async function whenConnected<T>(engine: Engine, read: () => Promise<T>): Promise<T | null> {
  if (!engine.status().ready) return null;
  try {
    return await read();
  } catch (err) {
    if (err instanceof AppError && err.code === 'not_ready') return null;
    throw err;
  }
}
