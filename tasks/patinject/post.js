// The task's post-job handler: `patinject cleanup` revokes what the execution handler minted and
// removes what it wrote (or, with no state, what a patinject that died left in its journal).
// Quiet when there is nothing to do; a failed revocation is a warning,
// and fails the step only with strictCleanup.
'use strict';

const fs = require('fs');
const path = require('path');
const c = require('./common');

try {
  const { args, env } = c.childSetup(c.SOURCE_INPUTS);
  const state = c.input('state') || path.join(process.env.AGENT_TEMPDIRECTORY || '', 'patinject-state.json');
  if (!fs.existsSync(state)) {
    // The execution handler recorded nothing, an earlier post-job step undid it all, or
    // patinject died before writing its state: then cleanup takes back what its journal in
    // Agent.TempDirectory holds. That needs a patinject at hand; none is built for it.
    const bin = c.findInstalled((msg) => console.log(msg));
    if (bin === null) {
      console.log('patinject: nothing to clean up');
    } else {
      c.finish(c.run(bin, ['cleanup', '--platform', 'azure', '--state', state, ...args], env), 'patinject cleanup');
    }
  } else {
    const bin = c.findOrBuild((msg) => console.log(msg));
    c.finish(c.run(bin, ['cleanup', '--platform', 'azure', '--state', state, ...args], env), 'patinject cleanup');
  }
} catch (err) {
  c.fail(err);
}
