import { pino, type Logger } from 'pino';

export function createLogger(level: string, component: string): Logger {
  return pino({ level, base: { component } });
}
