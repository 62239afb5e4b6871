import fs from 'node:fs';
import path from 'node:path';
import { configReference } from './config-reference.js';

test('docs/configuration.md is generated from the option table (run `npm run docs`)', () => {
  const file = path.resolve(__dirname, '../../../docs/configuration.md');
  expect(fs.readFileSync(file, 'utf8')).toBe(configReference());
});
