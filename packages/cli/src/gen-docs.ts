import fs from 'node:fs';
import path from 'node:path';
import { configReference } from './config-reference.js';

const out = path.resolve(process.argv[2] ?? 'docs/configuration.md');
fs.writeFileSync(out, configReference());
process.stdout.write(`wrote ${out}\n`);
