// The task's post-job handler: `patinject cleanup` revokes what the execution handler minted and
// removes what it wrote (or, with no state, what a patinject that died left in its journal).
// Quiet when there is nothing to do; a failed revocation is a warning,
// and fails the step only with strictCleanup.
'use strict';

const path = require('path');
const c = require('./common');

try {
  const { args, env } = c.childSetup(c.SOURCE_INPUTS);
  const state = c.input('state') || path.join(process.env.AGENT_TEMPDIRECTORY || '', 'patinject-state.json');
  // Only the binary the execution handler ran (c.pinnedBinary). None: it ran nothing, so there
  // is nothing to undo. With it but no state, patinject may have died before writing it:
  // cleanup then takes back what its journal in Agent.TempDirectory holds.
  const bin = c.pinnedBinary();
  if (bin === null) {
    console.log('patinject: nothing to clean up');
  } else {
    console.log(`patinject: using ${bin} (the binary the execution handler ran, its SHA-256 checked)`);
    c.finish(c.run(bin, ['cleanup', '--platform', 'azure', '--state', state, ...args], env), 'patinject cleanup');
  }
} catch (err) {
  c.fail(err);
}
