// Shared by main.js and post.js: read the action's inputs, find or build the patinject binary,
// run it. No dependencies: this file is what the runner executes, as it is in the repository.
// Finding, building and running patinject is shared with the Azure Pipelines task, whose folder
// must hold that code itself (tfx uploads it alone).
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const launch = require('../tasks/patinject/launch');
const release = require('./release');

// Inputs and the flags they become (see launch.flagsFrom for how each kind is passed).
const INPUTS = [
  ['token', 'token', 'scalar'],
  ['secrets', 'secret', 'list'],
  ['env-file', 'env-file', 'list'],
  ['not-secret', 'not-secret', 'list'],
  ['allow-name', 'allow-name', 'list'],
  ['keep-credential-env', 'keep-credential-env', 'bool'],
  ['username', 'username', 'scalar'],
  ['git', 'git', 'list'],
  ['git-credential-helper', 'git-credential-helper', 'bool'],
  ['nuget', 'nuget', 'list'],
  ['npm', 'npm', 'list'],
  ['netrc', 'netrc', 'list'],
  ['maven', 'maven', 'list'],
  ['token-env', 'token-env', 'list'],
  ['authorization-env', 'authorization-env', 'list'],
  ['no-orphan-sweep', 'no-orphan-sweep', 'bool'],
  ['state', 'state', 'scalar'],
  ['as-file', 'as-file', 'list'],
];

// Inputs that the post step's cleanup needs too: how to reach the services to revoke.
const SOURCE_INPUTS = [
  ['ado-url', 'ado-url', 'scalar'],
  ['ado-access-token', 'ado-access-token', 'scalar'],
  ['ado-allow-full-access', 'ado-allow-full-access', 'bool'],
  ['vault-auth', 'vault-auth', 'scalar'],
  ['vault-auth-path', 'vault-auth-path', 'scalar'],
  ['vault-role', 'vault-role', 'scalar'],
  ['vault-role-id', 'vault-role-id', 'scalar'],
  ['vault-secret-id', 'vault-secret-id', 'scalar'],
  ['vault-jwt', 'vault-jwt', 'scalar'],
  ['vault-jwt-audience', 'vault-jwt-audience', 'scalar'],
  ['strict-cleanup', 'strict-cleanup', 'bool'],
  ['debug', 'debug', 'bool'],
];

// input reads an input as the runner passes it: INPUT_ and the name upper-cased, spaces as '_',
// hyphens kept (as actions/toolkit getInput does).
function input(name) {
  const v = process.env['INPUT_' + name.replace(/ /g, '_').toUpperCase()] || '';
  return v.trim();
}

// childSetup turns inputs into argv and environment for the patinject child: the step's own
// environment less the INPUT_* variables (the inputs reach the child as flags) and less the
// runtime token the runner gives node actions for caches and artifacts, which patinject has no
// use for. ACTIONS_ID_TOKEN_REQUEST_* stay: Vault jwt login asks for the job's ID token.
//
// Given pin (the post step), the pinned variables set or changed since the main step are dropped
// first, before the inputs become flags and variables again; dropped names them.
function childSetup(table, pin) {
  const env = Object.assign({}, process.env);
  for (const k of Object.keys(env)) {
    if (k.startsWith('INPUT_') || k === 'ACTIONS_RUNTIME_TOKEN' || k === 'PATINJECT_DOWNLOAD_URL') delete env[k];
  }
  const dropped = pin ? unpinned(env, pin) : [];
  return { args: launch.flagsFrom(table, input, env), env, dropped };
}

// findOrInstall returns the patinject to run, saying which and where it came from: the one on
// PATH; else the release this action pins (the `version` input, else the newest version whose
// checksums this action's tree holds), from the tool cache or downloaded and verified; else, for
// an action ref with no release (a branch), one built from this action's own source with the
// runner's go.
async function findOrInstall(log) {
  const onPath = launch.onPath(launch.EXE);
  if (onPath) {
    log(`patinject: using ${onPath} (found on PATH)`);
    return onPath;
  }
  const version = input('version').replace(/^v/, '') || release.pinnedVersions()[0];
  if (version) return release.install(version, log);
  log('patinject: this action ref pins no release (no action/checksums/patinject_*_checksums.txt): building from source');
  return findOrBuild(log);
}

// findOrBuild returns a patinject built earlier in this job (main.js builds into RUNNER_TEMP),
// else one built now from this action's own source with the runner's go.
function findOrBuild(log) {
  const built = path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'patinject-bin', launch.EXE);
  const src = path.join(__dirname, '..');
  return launch.findOrBuild({
    candidates: [[built, 'built from source earlier in this job']],
    src: fs.existsSync(path.join(src, 'go.mod')) ? src : null,
    out: built,
    cannot: 'patinject is not on PATH, this action ref pins no release to download, and patinject cannot be built here ' +
      '(that needs go on PATH, and there is none); use a release tag of the action (uses: patinject/patinject@vX.Y.Z), ' +
      'add actions/setup-go before this step, or install patinject first',
    log,
  });
}

// PINNED are the variables that decide where patinject sends a credential, whom it trusts, or
// what cleanup does: its own flags (PATINJECT_*), Vault's and the Azure SDK's settings, the ID
// token request, proxies and CA files. A later step can set any of them for the post step
// through GITHUB_ENV, so the post step takes them only as the main step saw them.
const PINNED = /^(PATINJECT_|VAULT_|AZURE_|ACTIONS_ID_TOKEN_REQUEST_|SSL_CERT_|NODE_EXTRA_CA_CERTS$|(HTTPS?|ALL|NO)_PROXY$)/i;

// envPin is the SHA-256 of each pinned variable of env, by name: what the main step saves (no
// value is saved, some are secrets).
function envPin(env) {
  const pin = {};
  for (const [k, v] of Object.entries(env)) {
    if (PINNED.test(k)) pin[k] = crypto.createHash('sha256').update(v).digest('hex');
  }
  return pin;
}

// unpinned removes from env the pinned variables the main step did not see with that value,
// and returns their names, sorted.
function unpinned(env, pin) {
  const dropped = [];
  for (const k of Object.keys(env)) {
    if (PINNED.test(k) && pin[k] !== crypto.createHash('sha256').update(env[k]).digest('hex')) {
      delete env[k];
      dropped.push(k);
    }
  }
  return dropped.sort();
}

// saveState appends NAME<<DELIM, value, DELIM to GITHUB_STATE, as actions/toolkit does.
function saveState(name, value) {
  const file = process.env.GITHUB_STATE;
  if (!file) return;
  const delim = 'ghadelimiter_' + crypto.randomUUID();
  if (value.includes(delim)) throw new Error('state value holds the delimiter');
  fs.appendFileSync(file, `${name}<<${delim}${os.EOL}${value}${os.EOL}${delim}${os.EOL}`);
}

// fail reports an error as an annotation and fails the step.
function fail(err) {
  const msg = String(err && err.message ? err.message : err)
    .replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  process.stdout.write(`::error title=patinject::${msg}${os.EOL}`);
  process.exitCode = 1;
}

module.exports = { INPUTS, SOURCE_INPUTS, input, childSetup, findOrInstall, findOrBuild, saveState, envPin, run: launch.run, fail };
