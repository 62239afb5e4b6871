// End-to-end tests run the compiled `strata` command, as users do: build it first so the
// processes they start run the sources under test, not a stale dist/.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

module.exports = () => {
  execFileSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'build.mjs'), '--quiet'], { stdio: 'inherit' });
};
