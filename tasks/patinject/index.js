// The task's execution handler: `patinject inject --platform azure` with the inputs as flags.
// patinject registers every form with the masker, sets the variables, writes tool configuration
// under Agent.TempDirectory and records what the post-job handler undoes.
'use strict';

const c = require('./common');

try {
  const { args, env } = c.childSetup(c.INPUTS.concat(c.SOURCE_INPUTS));
  const bin = c.findOrBuild((msg) => console.log(msg));
  c.pinBinary(bin);
  c.finish(c.run(bin, ['inject', '--platform', 'azure', ...args], env), 'patinject inject');
} catch (err) {
  c.fail(err);
}
