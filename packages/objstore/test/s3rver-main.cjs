// Runs s3rver (a real S3-compatible HTTP server) as its own process for the tests.
// Started with --openssl-legacy-provider: s3rver encrypts listing continuation tokens with DES,
// which Node 20's OpenSSL 3 only offers through the legacy provider.
const S3rver = require('s3rver');

const [dir, bucket] = process.argv.slice(2);
const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: bucket }] });
server.run().then(({ port }) => process.stdout.write(`PORT ${port}\n`));
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
