// Shared by main.js and post.js: read the action's inputs, find or build the patinject binary,
// run it. No dependencies: this file is what the runner executes, as it is in the repository.
'use strict';

const cp = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

// Inputs and the flags they become. A scalar goes to the child as its PATINJECT_* variable (so
// that a value typed by mistake into an input is not on any argv); a list, one item a line,
// goes as repeated flags, since a reference may hold the comma that PATINJECT_* lists split on.
// Items of lists are references, URLs and names: never values.
const INPUTS = [
  ['token', 'token', 'scalar'],
  ['username', 'username', 'scalar'],
  ['git', 'git', 'list'],
  ['nuget', 'nuget', 'list'],
  ['npm', 'npm', 'list'],
  ['netrc', 'netrc', 'list'],
  ['token-env', 'token-env', 'list'],
  ['authorization-env', 'authorization-env', 'list'],
  ['git-credential-helper', 'git-credential-helper', 'bool'],
  ['secrets', 'secret', 'list'],
  ['env-file', 'env-file', 'list'],
  ['not-secret', 'not-secret', 'list'],
  ['as-file', 'as-file', 'list'],
  ['state', 'state', 'scalar'],
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

function lines(v) {
  return v.split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== '');
}

function envName(flag) {
  return 'PATINJECT_' + flag.toUpperCase().replace(/-/g, '_');
}

// childSetup turns inputs into argv and environment for the patinject child. The environment
// is the step's own, less the INPUT_* variables (the inputs reach the child as flags) and less
// any PATINJECT_* that an input sets.
function childSetup(table) {
  const env = Object.assign({}, process.env);
  for (const k of Object.keys(env)) {
    if (k.startsWith('INPUT_')) delete env[k];
  }
  const args = [];
  for (const [name, flag, kind] of table) {
    const v = input(name);
    if (v === '') continue;
    if (kind === 'list') {
      for (const item of lines(v)) args.push('--' + flag, item);
    } else if (kind === 'bool') {
      if (!/^(true|false)$/i.test(v)) {
        throw new Error(`input ${name}: want true or false`);
      }
      env[envName(flag)] = v.toLowerCase();
    } else {
      env[envName(flag)] = v;
    }
  }
  return { args, env };
}

function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch (e) {
    return false;
  }
}

function onPath(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (dir === '') continue;
    const p = path.join(dir, name);
    if (isExecutable(p)) return p;
  }
  return null;
}

// builtPath is where main.js builds patinject when none is on PATH; post.js finds it there.
function builtPath() {
  const base = process.env.RUNNER_TEMP || os.tmpdir();
  return path.join(base, 'patinject-bin', process.platform === 'win32' ? 'patinject.exe' : 'patinject');
}

// findOrBuild returns the patinject to run, saying which: the one on PATH (a pinned release or
// go install), one built earlier in this job, else one built now from this action's source.
function findOrBuild(log) {
  const exe = process.platform === 'win32' ? 'patinject.exe' : 'patinject';
  const found = onPath(exe);
  if (found) {
    log(`patinject: using ${found} (found on PATH)`);
    return found;
  }
  const built = builtPath();
  if (isExecutable(built)) {
    log(`patinject: using ${built} (built from source earlier in this job)`);
    return built;
  }
  const src = path.join(__dirname, '..');
  if (!fs.existsSync(path.join(src, 'go.mod')) || !onPath(process.platform === 'win32' ? 'go.exe' : 'go')) {
    throw new Error('patinject is not on PATH, and it cannot be built here (needs go on PATH and the action\'s source); ' +
      'install it first (go install github.com/patinject/patinject/cmd/patinject@VERSION) or add actions/setup-go');
  }
  log(`patinject: not on PATH; building it from ${src} with go into ${built}`);
  fs.mkdirSync(path.dirname(built), { recursive: true, mode: 0o700 });
  const r = cp.spawnSync('go', ['build', '-trimpath', '-o', built, './cmd/patinject'], { cwd: src, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error || r.status !== 0) {
    throw new Error('building patinject failed' + (r.error ? ': ' + r.error.message : ` (go exited ${r.status})`));
  }
  log(`patinject: using ${built} (built from source)`);
  return built;
}

// saveState appends NAME<<DELIM, value, DELIM to GITHUB_STATE, as actions/toolkit does.
function saveState(name, value) {
  const file = process.env.GITHUB_STATE;
  if (!file) return;
  const delim = 'ghadelimiter_' + crypto.randomUUID();
  if (value.includes(delim)) throw new Error('state value holds the delimiter');
  fs.appendFileSync(file, `${name}<<${delim}${os.EOL}${value}${os.EOL}${delim}${os.EOL}`);
}

// run starts patinject with the step's stdout and stderr, where the runner reads workflow
// commands, and sets the exit code of this process to patinject's.
function run(bin, args, env) {
  const r = cp.spawnSync(bin, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error) throw new Error(`running ${bin}: ${r.error.message}`);
  if (r.signal) return 128 + (os.constants.signals[r.signal] || 0);
  return r.status;
}

// fail reports an error as an annotation and fails the step.
function fail(err) {
  const msg = String(err && err.message ? err.message : err)
    .replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  process.stdout.write(`::error title=patinject::${msg}${os.EOL}`);
  process.exitCode = 1;
}

module.exports = { INPUTS, SOURCE_INPUTS, input, childSetup, findOrBuild, saveState, run, fail };
