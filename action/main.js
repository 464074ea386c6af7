// The action's main step: `patinject inject --platform github` with the inputs as flags. It
// masks, hands the secrets on through GITHUB_ENV and tool configuration under RUNNER_TEMP, and
// records what the post step undoes.
'use strict';

const lib = require('./lib');

try {
  const { args, env } = lib.childSetup(lib.INPUTS.concat(lib.SOURCE_INPUTS));
  const bin = lib.findOrBuild((msg) => console.log(msg));
  lib.saveState('bin', bin);
  process.exitCode = lib.run(bin, ['inject', '--platform', 'github', ...args], env);
} catch (err) {
  lib.fail(err);
}
