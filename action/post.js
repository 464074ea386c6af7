// The action's post step: `patinject cleanup` revokes what the main step minted and removes what
// it wrote. It runs when the job ends, whether it succeeded or not (post-if defaults to
// always()); a failed revocation warns, and fails the step only with strict-cleanup.
'use strict';

const fs = require('fs');
const lib = require('./lib');

try {
  // The main step saved where its state is (patinject writes it through GITHUB_STATE); without
  // it, the main step recorded nothing and there is nothing to undo.
  const state = process.env.STATE_state || '';
  if (state === '') {
    console.log('patinject: nothing to clean up');
  } else {
    const { args, env } = lib.childSetup(lib.SOURCE_INPUTS);
    let bin = process.env.STATE_bin || '';
    try {
      fs.accessSync(bin, fs.constants.X_OK);
    } catch (e) {
      bin = lib.findOrBuild((msg) => console.log(msg));
    }
    process.exitCode = lib.run(bin, ['cleanup', '--platform', 'github', '--state', state, ...args], env);
  }
} catch (err) {
  lib.fail(err);
}
