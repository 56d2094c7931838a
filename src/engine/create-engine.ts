import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Engine } from './engine.js';
import { SandboxEngine } from './sandbox.js';

export async function createEngine(config: Readonly<Config>, logger: Logger): Promise<Engine> {
  switch (config.engine) {
    case 'sandbox':
      return new SandboxEngine({ config, logger: logger.child({ engine: 'sandbox' }) });
    case 'wwebjs': {
      // Loaded lazily: whatsapp-web.js pulls in puppeteer, which the sandbox never needs.
      const { createWwebjsEngine } = await import('./wwebjs.js');
      return createWwebjsEngine({ config, logger });  // it names itself in its log lines
    }
    case 'baileys': {
      // Loaded lazily too: Baileys and its protobufs cost ~100 MB and half a second to load.
      const { createBaileysEngine } = await import('./baileys.js');
      return createBaileysEngine({ config, logger });
    }
  }
}
