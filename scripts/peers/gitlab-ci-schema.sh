#!/usr/bin/env bash
# Test peer: GitLab's CI configuration schema (app/assets/javascripts/editor/schema/ci.json in
# GitLab's repository, the schema GitLab's own pipeline editor validates .gitlab-ci.yml with), as
# bundled by gitlab-ci-local 4.75.1 from npm, which embeds a copy in dist/index.js. Extracted once
# into the cache as JSON. The release tests validate the GitLab template and component with it.
# Prints: export PATINJECT_TEST_GITLAB_CI_SCHEMA=<path to ci.json>
set -euo pipefail
cache=${PATINJECT_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/patinject-test}
version=4.75.1
dir=$cache/gitlab-ci-schema-$version
out=$dir/ci.json

if [ ! -s "$out" ]; then
  command -v npm >/dev/null 2>&1 || { echo "gitlab-ci-schema.sh: npm is not on PATH" >&2; exit 1; }
  echo "gitlab-ci-schema.sh: npm pack gitlab-ci-local@$version, extracting GitLab's ci.json into $dir" >&2
  mkdir -p "$dir"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "gitlab-ci-local@$version" >/dev/null && tar xzf "gitlab-ci-local-$version.tgz")
  # The schema is one object literal, {$schema:"http://json-schema.org/draft-07/schema#",
  # $id:"https://gitlab.com/.gitlab-ci.yml",...}: find its end by matching braces outside
  # strings, evaluate it as an expression, and write it out as JSON.
  node - "$work/package/dist/index.js" "$out.tmp" <<'JS'
const fs = require('fs');
const src = fs.readFileSync(process.argv[2], 'utf8');
const start = src.indexOf('{$schema:"http://json-schema.org/draft-07/schema#",$id:"https://gitlab.com/.gitlab-ci.yml"');
if (start < 0) throw new Error('no GitLab CI schema in the bundle');
let depth = 0, quote = null, end = -1;
for (let i = start; i < src.length; i++) {
  const c = src[i];
  if (quote) {
    if (c === '\\') i++;
    else if (c === quote) quote = null;
    continue;
  }
  if (c === '"' || c === "'" || c === '`') quote = c;
  else if (c === '{') depth++;
  else if (c === '}' && --depth === 0) { end = i + 1; break; }
}
if (end < 0) throw new Error('the schema literal does not end');
const schema = new Function('return (' + src.slice(start, end) + ');')();
if (!schema.definitions || !schema.definitions.configInputs) throw new Error('the schema lacks spec inputs');
fs.writeFileSync(process.argv[3], JSON.stringify(schema, null, 2) + '\n');
JS
  mv "$out.tmp" "$out"
fi
[ -s "$out" ] || { echo "gitlab-ci-schema.sh: $out missing after install" >&2; exit 1; }
printf 'export PATINJECT_TEST_GITLAB_CI_SCHEMA=%q\n' "$out"
