import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Engine } from './engine.js';
import { SandboxEngine } from './sandbox.js';

export async function createEngine(config: Readonly<Config>, logger: Logger): Promise<Engine> {
  switch (config.engine) {
    case 'sandbox':
      return new SandboxEngine({ config, logger: logger.child({ engine: 'sandbox' }) });
    case 'wwebjs': {
      throw new Error('The wwebjs engine is not built yet; use WHATSAPP_ENGINE=sandbox');
    }
  }
}
