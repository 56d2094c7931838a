import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Logs go to stderr: stdout belongs to the MCP stdio transport in --stdio mode, and keeping one
 * destination in both modes means no mode can corrupt the protocol stream by accident.
 */
export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { name: 'whatsapp-mcp-api' },
      // Keys and bodies never reach the log, whatever a caller passes in.
      redact: { paths: ['apiKey', '*.apiKey', 'authorization', '*.authorization', 'body', '*.body', 'message', '*.text'], censor: '[redacted]' },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
