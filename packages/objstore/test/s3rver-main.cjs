// Runs s3rver (a real S3-compatible HTTP server) as its own process for the tests.
// Started with --openssl-legacy-provider: s3rver encrypts listing continuation tokens with DES,
// which Node 20's OpenSSL 3 only offers through the legacy provider.
const S3rver = require('s3rver');
const FilesystemStore = require('s3rver/lib/stores/filesystem');

// s3rver's delimited listing walks only one folder below the prefix, so a common prefix whose
// objects all lie deeper ("tenant/" of "tenant/<block>/meta.json") is never reported, where S3
// and MinIO report it. Delimited listings here walk everything under the prefix and group the
// keys themselves (unpaged: test buckets are small).
const listObjects = FilesystemStore.prototype.listObjects;
FilesystemStore.prototype.listObjects = async function (bucket, options) {
  if (!options.delimiter) return listObjects.call(this, bucket, options);
  const all = await listObjects.call(this, bucket, { ...options, delimiter: '', maxKeys: Infinity });
  const prefix = options.prefix || '';
  const objects = [];
  const commonPrefixes = new Set();
  for (const o of all.objects) {
    const i = o.key.slice(prefix.length).indexOf(options.delimiter);
    if (i === -1) objects.push(o);
    else commonPrefixes.add(o.key.slice(0, prefix.length + i + 1));
  }
  return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated: false };
};

const [dir, bucket] = process.argv.slice(2);
const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: bucket }] });
server.run().then(({ port }) => process.stdout.write(`PORT ${port}\n`));
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
