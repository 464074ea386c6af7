// The action's post step: `patinject cleanup` revokes what the main step minted and removes what
// it wrote. It runs when the job ends, whether it succeeded or not (post-if defaults to
// always()); a failed revocation warns, and fails the step only with strict-cleanup.
//
// It runs only the binary the main step ran, and only if that file still has the SHA-256 the
// main step recorded in the action's saved state: a build step between the two could have
// replaced it (in RUNNER_TEMP or the tool cache), and the post step hands it the credentials
// that revoke.
'use strict';

const fs = require('fs');
const lib = require('./lib');
const release = require('./release');

function main() {
  // The main step saved the binary it ran (before running it) and patinject saved where its
  // state is (through GITHUB_STATE). With neither, the main step ran nothing: nothing to undo.
  // With a binary but no state, patinject may have died before writing it: cleanup then takes
  // back what its journal in RUNNER_TEMP holds.
  const state = process.env.STATE_state || '';
  const bin = process.env.STATE_bin || '';
  const want = process.env.STATE_binsha256 || '';
  if (state === '' && bin === '') {
    console.log('patinject: nothing to clean up');
    return;
  }
  const refuse = (why) => {
    throw new Error(`refusing to run cleanup: ${why}; what the main step minted stays live until it expires ` +
      (state ? `(revoke it by hand: see the state file ${state})` : '(revoke it by hand)'));
  };
  if (bin === '' || !/^[0-9a-f]{64}$/.test(want)) {
    refuse('the main step recorded no SHA-256 of the patinject it ran, and the post step runs no other');
  }
  let got;
  try {
    got = release.fileSHA256(bin);
  } catch (e) {
    refuse(`the patinject the main step ran (${bin}) is gone (${e.code || e.message})`);
  }
  if (got !== want) {
    refuse(`${bin} was replaced after the main step ran it (its SHA-256 is now ${got}, the main step recorded ${want})`);
  }
  try {
    fs.accessSync(bin, fs.constants.X_OK);
  } catch (e) {
    refuse(`${bin} is no longer executable`);
  }
  console.log(`patinject: using ${bin} (the binary the main step ran, SHA-256 ${want})`);
  if (state === '') {
    console.log('patinject: the main step recorded no state (patinject may have died): cleanup takes back what its journal holds');
  }
  let pin = {};
  try {
    pin = JSON.parse(process.env.STATE_envpin || '{}');
  } catch (e) {
    refuse('the main step saved no readable list of the variables that steer patinject');
  }
  // Set (or changed) after the main step: by a later step, through GITHUB_ENV. Dropped before
  // the inputs are turned into variables again, so what the post step's own inputs say stands.
  const { args, env, dropped } = lib.childSetup(lib.SOURCE_INPUTS, pin);
  if (dropped.length > 0) {
    console.log(`patinject: ignoring ${dropped.join(', ')}: set after the main step ran (a later step, through GITHUB_ENV), so not trusted by cleanup`);
  }
  const stateArgs = state ? ['--state', state] : [];
  process.exitCode = lib.run(bin, ['cleanup', '--platform', 'github', ...stateArgs, ...args], env);
}

try {
  main();
} catch (err) {
  lib.fail(err);
}
