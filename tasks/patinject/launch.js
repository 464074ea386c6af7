// Finding or building the patinject binary, and running it. Shared by the Azure Pipelines task
// (this folder, which tfx uploads on its own, so it must hold this file) and the GitHub Action
// (action/lib.js requires it from here). No dependencies.
'use strict';

const cp = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const EXE = process.platform === 'win32' ? 'patinject.exe' : 'patinject';
const GO = process.platform === 'win32' ? 'go.exe' : 'go';

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

// findOrBuild returns the patinject to run and says which it is: the one on PATH (a pinned
// release, or go install), else the first executable of candidates ([path, why] pairs), else
// one built now from the module at src into out with the go on PATH. cannot is the error
// message when none of these is possible.
function findOrBuild({ candidates, src, out, cannot, log }) {
  const found = onPath(EXE);
  if (found) {
    log(`patinject: using ${found} (found on PATH)`);
    return found;
  }
  for (const [p, why] of candidates) {
    if (isExecutable(p)) {
      log(`patinject: using ${p} (${why})`);
      return p;
    }
  }
  if (!src || !onPath(GO)) throw new Error(cannot);
  log(`patinject: not on PATH; building it from ${src} with go into ${out}`);
  fs.mkdirSync(path.dirname(out), { recursive: true, mode: 0o700 });
  // Static and without urfave/cli's man-page generator: no libc needed on the runner, and about a
  // millisecond less to start (bench/startup.sh).
  const r = cp.spawnSync('go', ['build', '-trimpath', '-tags', 'urfave_cli_no_docs', '-o', out, './cmd/patinject'],
    { cwd: src, stdio: ['ignore', 'inherit', 'inherit'], env: Object.assign({}, process.env, { CGO_ENABLED: '0' }) });
  if (r.error || r.status !== 0) {
    throw new Error('building patinject failed' + (r.error ? ': ' + r.error.message : ` (go exited ${r.status})`));
  }
  log(`patinject: using ${out} (built from source)`);
  return out;
}

// run starts patinject on this process's stdout and stderr, where the runner or agent reads
// commands, and returns its exit code (128+N when signal N ended it).
function run(bin, args, env) {
  const r = cp.spawnSync(bin, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error) throw new Error(`running ${bin}: ${r.error.message}`);
  if (r.signal) return 128 + (os.constants.signals[r.signal] || 0);
  return r.status;
}

// flagsFrom turns inputs into argv and environment variables for patinject. table rows are
// [input, flag, kind]: a scalar goes as its PATINJECT_* variable (so that a value typed by
// mistake into an input is on no argv), a list, one item a line, as repeated flags (a reference
// may hold the comma that PATINJECT_* lists split on), a boolean as "true" or "false". Items of
// lists are references, URLs and names: never values.
function flagsFrom(table, input, env) {
  const args = [];
  for (const [name, flag, kind] of table) {
    const v = input(name);
    if (v === '') continue;
    const envName = 'PATINJECT_' + flag.toUpperCase().replace(/-/g, '_');
    if (kind === 'list') {
      for (const item of v.split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== '')) args.push('--' + flag, item);
    } else if (kind === 'bool') {
      if (!/^(true|false)$/i.test(v)) throw new Error(`input ${name}: want true or false`);
      env[envName] = v.toLowerCase();
    } else {
      env[envName] = v;
    }
  }
  return args;
}

module.exports = { EXE, onPath, isExecutable, findOrBuild, run, flagsFrom };
