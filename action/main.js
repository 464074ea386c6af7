// The action's main step: `patinject inject --platform github` with the inputs as flags. It
// masks, hands the secrets on through GITHUB_ENV and tool configuration under RUNNER_TEMP, and
// records what the post step undoes. It saves, through the action's own state (GITHUB_STATE,
// which later steps cannot write), the path and SHA-256 of the patinject it ran: the post step
// runs that binary and no other; and a SHA-256 of each variable that steers patinject, which
// the post step takes only with that value (lib.PINNED).
'use strict';

const lib = require('./lib');
const release = require('./release');

async function main() {
  const { args, env } = lib.childSetup(lib.INPUTS.concat(lib.SOURCE_INPUTS));
  const bin = await lib.findOrInstall((msg) => console.log(msg));
  lib.saveState('bin', bin);
  lib.saveState('binsha256', release.fileSHA256(bin));
  lib.saveState('envpin', JSON.stringify(lib.envPin(process.env)));
  process.exitCode = lib.run(bin, ['inject', '--platform', 'github', ...args], env);
}

main().catch((err) => lib.fail(err));
