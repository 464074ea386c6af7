// Shared by index.js (execution) and post.js (postjobexecution): read the task's inputs, build a
// clean environment for patinject, find or build the binary, run it. No dependencies, and no
// azure-pipelines-task-lib: the task folder is uploaded as it is.
//
// The agent gives a Node task handler every secret of the job (SECRET_*), every service
// connection's credentials (ENDPOINT_AUTH_*), secure file tickets and the inputs. task-lib hides
// them from process.env when it loads; without it, a child would inherit them all. So the child
// gets a copy of the environment without them, and the inputs as flags.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const launch = require('./launch');

// Prefixes of what the agent hands to task handlers and patinject must not inherit.
const SCRUBBED = ['SECRET_', 'ENDPOINT_AUTH_', 'SECUREFILE_TICKET_', 'VSTS_TASKVARIABLE_', 'INPUT_', 'PATINJECT_'];
const SCRUBBED_NAMES = ['VSTS_SECRET_VARIABLES'];

// The one task variable patinject needs back: the key that authenticates its cleanup state,
// which inject sets as a secret task variable (##vso[task.settaskvariable]) and the agent hands
// to this task's post-job handler alone. cleanup reads it from this name.
const STATE_KEY = 'VSTS_TASKVARIABLE_PATINJECT_STATE_KEY';

// The job's own access token, as the agent hands it to tasks (protocols.md 3.3).
const JOB_TOKEN = 'ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN';

// Inputs and the flags they become. A scalar goes to the child as its PATINJECT_* variable; a
// multi-line input, one item a line, as repeated flags (a reference may hold the comma that
// PATINJECT_* lists split on). Items are references, URLs and names: never values.
const INPUTS = [
  ['token', 'token', 'scalar'],
  ['secrets', 'secret', 'list'],
  ['envFile', 'env-file', 'list'],
  ['notSecret', 'not-secret', 'list'],
  ['allowName', 'allow-name', 'list'],
  ['keepCredentialEnv', 'keep-credential-env', 'bool'],
  ['username', 'username', 'scalar'],
  ['git', 'git', 'list'],
  ['gitCredentialHelper', 'git-credential-helper', 'bool'],
  ['nuget', 'nuget', 'list'],
  ['npm', 'npm', 'list'],
  ['netrc', 'netrc', 'list'],
  ['maven', 'maven', 'list'],
  ['tokenEnv', 'token-env', 'list'],
  ['authorizationEnv', 'authorization-env', 'list'],
  ['noOrphanSweep', 'no-orphan-sweep', 'bool'],
  ['state', 'state', 'scalar'],
  ['asFile', 'as-file', 'list'],
];

// Inputs that the post-job cleanup needs too: how to reach the services to revoke.
const SOURCE_INPUTS = [
  ['adoUrl', 'ado-url', 'scalar'],
  ['adoAccessToken', 'ado-access-token', 'scalar'],
  ['adoAllowFullAccess', 'ado-allow-full-access', 'bool'],
  ['vaultAuth', 'vault-auth', 'scalar'],
  ['vaultAuthPath', 'vault-auth-path', 'scalar'],
  ['vaultRole', 'vault-role', 'scalar'],
  ['vaultRoleId', 'vault-role-id', 'scalar'],
  ['vaultSecretId', 'vault-secret-id', 'scalar'],
  ['vaultJwt', 'vault-jwt', 'scalar'],
  ['vaultJwtAudience', 'vault-jwt-audience', 'scalar'],
  ['vaultAzureServiceConnection', 'vault-azure-service-connection', 'scalar'],
  ['strictCleanup', 'strict-cleanup', 'bool'],
  ['debug', 'debug', 'bool'],
];

// input reads an input as the agent passes it: INPUT_ and the name with '.' and ' ' as '_',
// upper-cased (task-lib getInput).
function input(name) {
  const v = process.env['INPUT_' + name.replace(/\./g, '_').replace(/ /g, '_').toUpperCase()] || '';
  return v.trim();
}

function inputBool(name) {
  return /^true$/i.test(input(name));
}

// cleanEnv is the handler's environment less what the agent hands only to tasks. The job's
// access token is passed on, as SYSTEM_ACCESSTOKEN, only when an input asks for it.
function cleanEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    const K = k.toUpperCase();
    if (K !== STATE_KEY && (SCRUBBED.some((p) => K.startsWith(p)) || SCRUBBED_NAMES.includes(K))) continue;
    env[k] = v;
  }
  const wantsToken = inputBool('systemAccessToken') || input('vaultAzureServiceConnection') !== '';
  const jobToken = process.env[JOB_TOKEN] || '';
  if (wantsToken) {
    if (jobToken === '') {
      throw new Error('the job\'s access token is not available to the task (is the job authorized to use it?)');
    }
    env.SYSTEM_ACCESSTOKEN = jobToken;
  }
  return env;
}

// childSetup turns the inputs in table into argv and a clean environment for patinject.
function childSetup(table) {
  const env = cleanEnv();
  return { args: launch.flagsFrom(table, input, env), env };
}

// moduleRoot finds patinject's source above this folder (the task used from a checkout of the
// repository), or null.
function moduleRoot() {
  let dir = __dirname;
  for (;;) {
    try {
      if (/^module github\.com\/patinject\/patinject\s*$/m.test(fs.readFileSync(path.join(dir, 'go.mod'), 'utf8'))) return dir;
    } catch (e) { /* not here */ }
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

// bundledBinary is the patinject packed into the extension for this agent's platform
// (bin/<platform>-<arch>/, Node's names: linux-x64, win32-arm64, ...), or null. The agent unpacks
// extensions without file modes, so the execute bit is put back here.
function bundledBinary() {
  const p = path.join(__dirname, 'bin', `${process.platform}-${process.arch}`, launch.EXE);
  try {
    if (!fs.statSync(p).isFile()) return null;
  } catch (e) {
    return null;
  }
  if (!launch.isExecutable(p)) fs.chmodSync(p, 0o755);
  return p;
}

// findOrBuild returns the patinject to run, saying which: the one bundled with the task (the
// extension's own, of the extension's version), else one on PATH (a task uploaded on its own,
// without binaries), else built earlier in this job, else built now from source with the
// agent's go.
function findOrBuild(log) {
  const bundled = bundledBinary();
  if (bundled) {
    log(`patinject: using ${bundled} (bundled with the task for ${process.platform}-${process.arch})`);
    return bundled;
  }
  const built = path.join(process.env.AGENT_TEMPDIRECTORY || os.tmpdir(), 'patinject-bin', launch.EXE);
  return launch.findOrBuild({
    candidates: [[built, 'built from source earlier in this job']],
    src: moduleRoot(),
    out: built,
    cannot: `patinject is not bundled with the task for ${process.platform}-${process.arch}, not on PATH, and cannot be built here ` +
      '(that needs go on PATH and the source); install the extension (scripts/vsix.sh packs it with a binary per platform) ' +
      'or install patinject in an earlier step',
    log,
  });
}

function escapeData(s) {
  return s.replace(/%/g, '%AZP25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

// The binary the execution handler ran and its SHA-256, as task variables that the agent hands
// to this task's post-job handler alone (VSTS_TASKVARIABLE_*; later steps cannot set them): the
// post-job handler runs that file, with that content, and no other. A later step can put
// another patinject first on PATH (task.prependpath), and the post-job handler gives its
// patinject the state key and the credentials that revoke.
const BIN_VAR = 'PATINJECT_BIN';
const BIN_SUM_VAR = 'PATINJECT_BIN_SHA256';

function fileSHA256(p) {
  return crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
}

// pinBinary tells the agent which binary the post-job handler is to run.
function pinBinary(bin) {
  const sum = fileSHA256(bin);
  for (const [name, value] of [[BIN_VAR, bin], [BIN_SUM_VAR, sum]]) {
    process.stdout.write(`##vso[task.settaskvariable variable=${name};]${escapeData(value)}${os.EOL}`);
  }
}

// pinnedBinary is the binary the execution handler ran, checked against its SHA-256; null when
// it ran none. It throws when the file is gone or changed.
function pinnedBinary() {
  const bin = process.env['VSTS_TASKVARIABLE_' + BIN_VAR] || '';
  const want = process.env['VSTS_TASKVARIABLE_' + BIN_SUM_VAR] || '';
  if (bin === '') return null;
  let got = '';
  try {
    got = fileSHA256(bin);
  } catch (e) {
    throw new Error(`the patinject the execution handler ran (${bin}) is gone (${e.code || e.message}); what it minted stays live until it expires`);
  }
  if (!/^[0-9a-f]{64}$/.test(want) || got !== want) {
    throw new Error(`${bin} was replaced after the execution handler ran it (SHA-256 ${got}, recorded ${want}); refusing to hand it the credentials that revoke`);
  }
  return bin;
}

// finish fails the task when patinject failed. On success it says nothing: the agent then
// decides between Succeeded and SucceededWithIssues from the warnings patinject logged.
function finish(code, what) {
  if (code === 0) return;
  process.stdout.write(`##vso[task.complete result=Failed;]${escapeData(`${what} failed (exit ${code})`)}${os.EOL}`);
  process.exitCode = 1;
}

// fail reports an error of the wrapper itself and fails the task.
function fail(err) {
  const msg = escapeData(String(err && err.message ? err.message : err));
  process.stdout.write(`##vso[task.logissue type=error;]patinject: ${msg}${os.EOL}`);
  process.stdout.write(`##vso[task.complete result=Failed;]${msg}${os.EOL}`);
  process.exitCode = 1;
}

module.exports = { INPUTS, SOURCE_INPUTS, SCRUBBED, input, childSetup, findOrBuild, pinBinary, pinnedBinary, run: launch.run, finish, fail };
