/** docs/configuration.md, generated from OPTIONS so the reference never drifts from the code. */
import { COMPONENTS, OPTIONS } from './options.js';
import { yamlPath } from './config.js';

export function configReference(): string {
  const lines = [
    '# Configuration reference',
    '',
    '<!-- Generated from packages/cli/src/options.ts by `npm run docs`; a test keeps it in sync. -->',
    '',
    'Strata reads one YAML file (`--config.file`); every key is also a command-line flag, and flags',
    'override the file. The flag `--a.b-c` is the YAML key `a: { b_c: ... }`.',
    '',
    '## Components',
    '',
    '| component | what it runs |',
    '| --- | --- |',
    ...Object.entries(COMPONENTS).map(([c, d]) => `| \`${c}\` | ${d} |`),
    '',
    '## Options',
    '',
    '| flag | YAML key | type | default | description |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const o of OPTIONS) {
    const type = o.values ? o.values.join(' \\| ') : o.type;
    const def = o.default === '' ? '' : `\`${String(o.default)}\``;
    lines.push(`| \`--${o.flag}\` | \`${yamlPath(o.flag).join('.')}\` | ${type} | ${def} | ${o.help} |`);
  }
  return lines.join('\n') + '\n';
}
