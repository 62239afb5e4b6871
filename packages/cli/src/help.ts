/** `strata --help`, generated from the component and option tables. */
import { COMPONENTS, OPTIONS } from './options.js';
import { yamlPath } from './config.js';

export function helpText(): string {
  const lines = ['Usage: strata <component> [flags]', '', 'Components:'];
  const width = Math.max(...Object.keys(COMPONENTS).map((c) => c.length));
  for (const [name, desc] of Object.entries(COMPONENTS)) lines.push(`  ${name.padEnd(width)}  ${desc}`);
  lines.push('', 'Tools:', '  tools rules check FILE...  Validates Prometheus rule files (as promtool check rules).');
  lines.push("  tools rules test FILE...   Runs rule unit tests in promtool's format on Strata's rule engine.");
  lines.push('  tools cardinality --url=URL --tenant=T  Prints top metrics, labels and series growth of a running cluster.');
  lines.push('', 'Flags (each is also a key of the --config.file YAML, e.g. --http.address is http: {address: ...}):');
  for (const o of OPTIONS) {
    const def = o.default === '' ? '' : ` (default ${JSON.stringify(o.default)})`;
    const aliases = o.aliases ? ` [aliases: ${o.aliases.map((a) => `--${a}`).join(', ')}]` : '';
    lines.push(
      `  --${o.flag}=<${o.values ? o.values.join('|') : o.type}>${def}`,
      `      ${o.help} [yaml: ${yamlPath(o.flag).join('.')}]${aliases}`,
    );
  }
  return lines.join('\n') + '\n';
}
