// The slice of whatsapp-web.js's Client the engine uses, so tests can hand in a fake with the same shape.
import wweb from 'whatsapp-web.js';
import { browserArgs } from './browser.js';

/** Everything needed to build one Client; the fake records it so tests can check launch settings. */
export interface WwebjsClientSpec {
  authDir: string;
  /** LocalAuth keeps the Chromium profile in <authDir>/session-<clientId>. */
  clientId: 'default';
  puppeteer: {
    executablePath: string;
    headless: boolean;
    args: string[];
    // Signals belong to our composition root's graceful shutdown; puppeteer's own handlers would exit the process.
    // Puppeteer still kills the browser on process exit.
    handleSIGINT: false;
    handleSIGTERM: false;
    handleSIGHUP: false;
  };
}

/** A library Chat: data fields are read through wwebjs-map; fetchMessages is the one method we call. */
export interface WwebjsChatLike {
  fetchMessages(opts: { limit: number }): Promise<unknown[]>;
  sendStateTyping(): Promise<unknown>;
  clearState(): Promise<unknown>;
}

export interface WwebjsClientLike {
  /** The library emits plain EventEmitter events; payload shapes are checked in wwebjs-map. */
  on(event: string, listener: (...args: any[]) => void): unknown;
  initialize(): Promise<void>;
  destroy(): Promise<void>;
  logout(): Promise<void>;
  requestPairingCode(phoneNumber: string, showNotification?: boolean, intervalMs?: number): Promise<string>;
  getNumberId(number: string): Promise<{ _serialized: string } | null>;
  sendMessage(chatId: string, content: string, options: { sendSeen: boolean }): Promise<unknown>;
  getChats(): Promise<unknown[]>;
  /** The library returns undefined for an unknown chat, and for a new number may create an empty one. */
  getChatById(chatId: string): Promise<WwebjsChatLike | undefined>;
  /** Set by the library just before `ready`. */
  readonly info?: unknown;
}

export type WwebjsClientFactory = (spec: WwebjsClientSpec) => WwebjsClientLike;

/** Production: a real Client with LocalAuth. whatsapp-web.js is CommonJS, hence the default import. */
export const libraryClientFactory: WwebjsClientFactory = (spec) => {
  const { Client, LocalAuth } = wweb;
  return new Client({
    authStrategy: new LocalAuth({ dataPath: spec.authDir, clientId: spec.clientId }),
    puppeteer: spec.puppeteer,
  });
};

export function clientSpec(cfg: { authDir: string; headless: boolean }, executablePath: string, isRoot: boolean): WwebjsClientSpec {
  return {
    authDir: cfg.authDir,
    clientId: 'default',
    puppeteer: { executablePath, headless: cfg.headless, args: browserArgs({ isRoot }), handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false },
  };
}
