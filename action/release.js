// Getting a released patinject for the GitHub Action: the archive for this runner's OS and
// architecture, downloaded from the release, checked against the SHA-256 that this action's own
// tree pins (action/checksums/patinject_<version>_checksums.txt, committed with the release
// tag), never against a checksums file downloaded beside the archive, and unpacked into the
// runner's tool cache. No dependencies: node's own crypto, zlib and fetch.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');

const CHECKSUMS_DIR = path.join(__dirname, 'checksums');
const DEFAULT_REPOSITORY = 'patinject/patinject';

// target is the release's name for this runner's OS and architecture, and its archive format.
function target(platform = process.platform, arch = process.arch) {
  const goos = { linux: 'linux', darwin: 'darwin', win32: 'windows' }[platform];
  const goarch = { x64: 'amd64', arm64: 'arm64' }[arch];
  if (!goos || !goarch) throw new Error(`no patinject release is built for ${platform}/${arch}`);
  return { goos, goarch, ext: goos === 'windows' ? 'zip' : 'tar.gz', exe: goos === 'windows' ? 'patinject.exe' : 'patinject' };
}

// compareVersions orders MAJOR.MINOR.PATCH[-PRE] versions (a pre-release before its release).
function compareVersions(a, b) {
  const split = (v) => {
    const [core, pre] = v.split(/-(.*)/s);
    return { nums: core.split('.').map(Number), pre: pre || '' };
  };
  const x = split(a), y = split(b);
  for (let i = 0; i < 3; i++) {
    if ((x.nums[i] || 0) !== (y.nums[i] || 0)) return (x.nums[i] || 0) - (y.nums[i] || 0);
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === '') return 1;
  if (y.pre === '') return -1;
  return x.pre < y.pre ? -1 : 1;
}

// pinnedVersions lists the versions whose checksums this action's tree holds, newest first.
function pinnedVersions(dir = CHECKSUMS_DIR) {
  let names = [];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    return [];
  }
  return names.map((n) => /^patinject_(.+)_checksums\.txt$/.exec(n)).filter(Boolean).map((m) => m[1])
    .sort((a, b) => compareVersions(b, a));
}

// pinnedSHA256 returns the SHA-256 (hex) that the action's tree pins for archive of version, or
// throws saying why there is none.
function pinnedSHA256(version, archive, dir = CHECKSUMS_DIR) {
  const file = path.join(dir, `patinject_${version}_checksums.txt`);
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`this action's tree pins no checksums for patinject ${version} (no ${path.relative(path.join(__dirname, '..'), file)}); ` +
      `use the action at its release tag (uses: patinject/patinject@v${version}) or a version it pins (${pinnedVersions(dir).join(', ') || 'none'})`);
  }
  for (const line of text.split(/\r?\n/)) {
    const m = /^([0-9a-f]{64}) [ *]?(\S+)$/.exec(line.trim());
    if (m && m[2] === archive) return m[1];
  }
  throw new Error(`${path.basename(file)} has no checksum for ${archive}`);
}

function sha256(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

// fileSHA256 hashes a file without holding all of it in memory twice.
function fileSHA256(p) {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(p, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

// extractTarGz returns the content of the regular file called name at the archive's top level.
function extractTarGz(buf, name) {
  const tar = zlib.gunzipSync(buf);
  let longName = null;
  for (let off = 0; off + 512 <= tar.length;) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (a, b) => h.subarray(a, b).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(str(124, 136).trim() || '0', 8);
    const type = String.fromCharCode(h[156] || 48);
    const prefix = str(257, 263).startsWith('ustar') ? str(345, 500) : '';
    let entry = longName || (prefix ? prefix + '/' + str(0, 100) : str(0, 100));
    longName = null;
    const data = tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') { // GNU long name for the next entry
      longName = data.toString('utf8').replace(/\0.*$/s, '');
      continue;
    }
    if (type === 'x') { // PAX extended header: a path= record names the next entry
      const m = /\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
      if (m) longName = m[1];
      continue;
    }
    entry = entry.replace(/^\.\//, '');
    if ((type === '0' || type === '\0') && entry === name) return Buffer.from(data);
  }
  throw new Error(`the archive holds no ${name}`);
}

// extractZip returns the content of the file called name at the archive's top level.
function extractZip(buf, name) {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new Error('not a zip archive');
  const count = buf.readUInt16LE(eocd + 10);
  let off = buf.readUInt32LE(eocd + 16);
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(off) !== 0x02014b50) throw new Error('a broken zip central directory');
    const method = buf.readUInt16LE(off + 10);
    const csize = buf.readUInt32LE(off + 20);
    const nlen = buf.readUInt16LE(off + 28), xlen = buf.readUInt16LE(off + 30), clen = buf.readUInt16LE(off + 32);
    const local = buf.readUInt32LE(off + 42);
    const entry = buf.subarray(off + 46, off + 46 + nlen).toString('utf8');
    off += 46 + nlen + xlen + clen;
    if (entry !== name) continue;
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, start + csize);
    if (method === 0) return Buffer.from(data);
    if (method === 8) return zlib.inflateRawSync(data);
    throw new Error(`zip entry ${name} uses compression method ${method}`);
  }
  throw new Error(`the archive holds no ${name}`);
}

// downloadBase is where releases are downloaded from: PATINJECT_DOWNLOAD_URL (mirrors, tests),
// else the releases of the repository this action comes from on this GitHub (GHES too).
function downloadBase(env = process.env) {
  if (env.PATINJECT_DOWNLOAD_URL) return env.PATINJECT_DOWNLOAD_URL.replace(/\/+$/, '');
  const server = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
  return `${server}/${env.GITHUB_ACTION_REPOSITORY || DEFAULT_REPOSITORY}/releases/download`;
}

// toolCacheDir is where a verified binary of version is kept, in the layout actions/tool-cache
// uses (RUNNER_TOOL_CACHE/patinject/VERSION/ARCH, with ARCH.complete beside it once done).
function toolCacheDir(version, env = process.env) {
  const root = env.RUNNER_TOOL_CACHE || path.join(env.RUNNER_TEMP || os.tmpdir(), 'patinject-tool-cache');
  return path.join(root, 'patinject', version, process.arch);
}

// describeURL drops userinfo, query and fragment from a URL before it is printed.
function describeURL(u) {
  try {
    const x = new URL(u);
    x.username = ''; x.password = ''; x.search = ''; x.hash = '';
    return x.toString();
  } catch (e) {
    return '(an invalid URL)';
  }
}

// install makes the patinject of version available and returns its path, saying where it came
// from. The tool cache keeps the verified archive, not only the binary: each use hashes the
// archive again against the pin in this action's tree and unpacks the binary from it, so that
// nothing written into the cache between two jobs (a self-hosted runner's cache outlives them)
// is run unchecked. It throws, saying why, when the archive's hash differs from the pin: that
// binary is never run.
async function install(version, log, env = process.env) {
  const t = target();
  const archive = `patinject_${version}_${t.goos}_${t.goarch}.${t.ext}`;
  const want = pinnedSHA256(version, archive);
  const dir = toolCacheDir(version, env);
  const bin = path.join(dir, t.exe);
  const cached = path.join(dir, archive);
  let buf = null;
  let from;
  try {
    buf = fs.readFileSync(cached);
  } catch (e) { /* not cached yet */ }
  if (buf && sha256(buf) === want) {
    from = `${archive} from the tool cache`;
  } else {
    if (buf) log(`patinject: the archive in the tool cache (${cached}) is not the pinned one; downloading it again`);
    const url = `${downloadBase(env)}/v${version}/${archive}`;
    log(`patinject: downloading ${describeURL(url)}`);
    let res;
    try {
      res = await fetch(url, { redirect: 'follow' });
    } catch (e) {
      throw new Error(`downloading ${describeURL(url)}: ${e.cause && e.cause.message ? e.cause.message : e.message}`);
    }
    if (!res.ok) throw new Error(`downloading ${describeURL(url)}: HTTP ${res.status}`);
    buf = Buffer.from(await res.arrayBuffer());
    const got = sha256(buf);
    if (got !== want) {
      throw new Error(`refusing to run the downloaded patinject: the SHA-256 of ${archive} is ${got}, ` +
        `but this action's tree (action/checksums/patinject_${version}_checksums.txt) pins ${want}; ` +
        'the archive was changed after the release, or the download was tampered with');
    }
    from = `${archive} from ${describeURL(url)}`;
  }
  const content = t.ext === 'zip' ? extractZip(buf, t.exe) : extractTarGz(buf, t.exe);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  // Written beside, then renamed: a job running the old file keeps it, the next gets the new.
  for (const [dst, data, mode] of [[cached, buf, 0o644], [bin, content, 0o755]]) {
    const tmp = path.join(dir, `.${path.basename(dst)}.${crypto.randomUUID()}`);
    fs.writeFileSync(tmp, data, { mode, flag: 'wx' });
    fs.renameSync(tmp, dst);
  }
  fs.writeFileSync(path.join(dir, '..', `${process.arch}.complete`), '');
  log(`patinject: using ${bin} (release ${version}, ${from}, SHA-256 ${want} as pinned in action/checksums)`);
  return bin;
}

module.exports = {
  target, compareVersions, pinnedVersions, pinnedSHA256, sha256, fileSHA256, extractTarGz, extractZip,
  downloadBase, toolCacheDir, install, describeURL,
};
