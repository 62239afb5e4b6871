/** The `strata` command: picks a component and wires configuration to objects; nothing else. */
import { HttpClientConfigError, loadHttpClientConfig, loadWebConfig, WebConfigError } from '@strata/api';
import { ForwardAuth } from '@strata/receiver';
import { ConfigError, loadConfig, parseArgs } from './config.js';
import { helpText } from './help.js';
import { COMPONENTS, type OptionFlag } from './options.js';
import { runAll } from './cmd/all.js';
import { runQuerier } from './cmd/querier.js';
import { runStoreGateway } from './cmd/store-gateway.js';
import { querierRangeError } from './cmd/store-ranges-check.js';
import { runDevCluster } from './cmd/dev-cluster.js';
import { runQueryFrontend } from './cmd/query-frontend.js';
import { runCompactor } from './cmd/compactor.js';
import { runTools } from './cmd/tools.js';
import { runRuler } from './cmd/ruler.js';

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'tools') {
    try {
      return await runTools(argv.slice(1));
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
  }
  let args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  if (args.help || args.positional.length === 0) {
    process.stdout.write(helpText());
    return args.help ? 0 : 2;
  }
  const component = args.positional[0];
  if (!(component in COMPONENTS)) {
    process.stderr.write(`unknown component ${JSON.stringify(component)}; one of: ${Object.keys(COMPONENTS).join(', ')}\n`);
    return 2;
  }
  let config;
  try {
    config = loadConfig(args.flags);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  // Checked before anything starts, as Prometheus refuses to start with a bad web config.
  const files: [OptionFlag, (f: string) => unknown][] = [
    ['web.config.file', loadWebConfig],
    ['receiver.forward-client-config-file', loadHttpClientConfig],
    ['querier.store-client-config-file', loadHttpClientConfig],
    ['query-frontend.downstream-client-config-file', loadHttpClientConfig],
  ];
  for (const [flag, load] of files) {
    try {
      if (config.str(flag)) load(config.str(flag));
    } catch (e) {
      if (!(e instanceof WebConfigError) && !(e instanceof HttpClientConfigError)) throw e;
      process.stderr.write(`--${flag} ${config.str(flag)}: ${e.message}\n`);
      return 2;
    }
  }
  if (component === 'all' || component === 'receiver') {
    let secret;
    try {
      secret = ForwardAuth.from(config.str('receiver.forward-secret'), config.str('receiver.forward-secret-file'));
    } catch (e) {
      process.stderr.write(`--receiver.forward-secret-file: ${(e as Error).message}\n`);
      return 2;
    }
    if (config.str('receiver.hashrings-file') && !secret) {
      process.stderr.write(
        '--receiver.hashrings-file needs --receiver.forward-secret-file: receivers sign the writes they forward with a secret they share, and refuse unsigned ones\n',
      );
      return 2;
    }
  }
  if (component === 'querier') {
    const e = querierRangeError(config);
    if (e) {
      process.stderr.write(`${e}\n`);
      return 2;
    }
  }
  switch (component) {
    case 'all':
      await runAll(config, { query: true });
      return 0;
    case 'receiver':
      await runAll(config, { query: false });
      return 0;
    case 'store-gateway':
      await runStoreGateway(config);
      return 0;
    case 'querier':
      await runQuerier(config);
      return 0;
    case 'query-frontend':
      await runQueryFrontend(config);
      return 0;
    case 'compactor':
      return runCompactor(config);
    case 'ruler':
      await runRuler(config);
      return 0;
    case 'dev-cluster':
      await runDevCluster(config, process.argv[1]);
      return 0;
  }
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (e) => {
    process.stderr.write(`strata: ${(e as Error)?.stack ?? e}\n`);
    process.exit(1);
  },
);
