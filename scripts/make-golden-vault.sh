#!/usr/bin/env bash
# Writes a golden vault, test/golden/vault-NAME (and its .json), with the CLI as it is now:
# `scripts/make-golden-vault.sh v3`. Run once when the format changes on purpose, under a new
# NAME: a golden vault exists to catch changes that are not on purpose, so an existing one is
# never written again (vault-v1 is format version 1, vault-v3 head version 3).
# Made at /tmp/shardvault-golden-NAME so the head's recorded paths never exist later.
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=${1:?usage: scripts/make-golden-vault.sh NAME (writes test/golden/vault-NAME)}
if [ -e "test/golden/vault-$NAME" ]; then
  echo "test/golden/vault-$NAME exists: a golden vault is never written again; give a new NAME" >&2
  exit 2
fi
npm run build:cli >/dev/null
G=/tmp/shardvault-golden-$NAME
rm -rf "$G"
mkdir -p "$G"/{a,b,c}
export SHARDVAULT_HOME; SHARDVAULT_HOME=$(mktemp -d)
export SHARDVAULT_PASSPHRASE='golden vault passphrase'
work=$(mktemp -d)
node -e 'let s="";for(let i=0;i<400;i++)s+=`line ${i}: the quick brown fox jumps over the lazy dog\n`;require("fs").writeFileSync(process.argv[1],s)' "$work/fox.txt"
: > "$work/empty"
node bin/shardvault.mjs init --location "$G/a#alpha" --location "$G/b#bravo" --location "$G/c#charlie" \
  --data 2 --total 3 --threshold 2 --segment-size 4096 --insecure-kdf-cost 10 --json > "$work/init.json"
node bin/shardvault.mjs put "$work/fox.txt" --name notes/fox.txt
node bin/shardvault.mjs put "$work/empty" --name empty
node bin/shardvault.mjs get empty --output "$work/out" --force
# A folder of small files (packed, head version 5, from vault-v5 on) and an empty folder.
mkdir -p "$work/tree/sub" "$work/tree/none"
printf 'alpha\n' > "$work/tree/a.txt"
node -e 'require("fs").writeFileSync(process.argv[1],Buffer.alloc(5000,98))' "$work/tree/sub/b.bin"
node bin/shardvault.mjs put "$work/tree" --name tree
SHARDVAULT_PASSPHRASE=wrong node bin/shardvault.mjs ls 2>/dev/null || true
cp -r "$G" "test/golden/vault-$NAME"
find "test/golden/vault-$NAME" -type d -name tmp -empty -delete
rm -rf "$G" "$SHARDVAULT_HOME"
node - "$work" "$NAME" <<'JS'
const fs = require('fs'), crypto = require('crypto');
const work = process.argv[2];
const name = process.argv[3];
const init = JSON.parse(fs.readFileSync(`${work}/init.json`));
const fox = fs.readFileSync(`${work}/fox.txt`);
const a = fs.readFileSync(`${work}/tree/a.txt`);
const b = fs.readFileSync(`${work}/tree/sub/b.bin`);
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
const golden = {
  about: `A vault written (format ${name}, docs/FORMAT.md) by scripts/make-golden-vault.sh ${name}: three local-folder locations a, b, c (made at /tmp/shardvault-golden-${name}, a path that does not exist later, so the copies a test opens are the only ones reachable); k = 2 of n = 3, t = 2; segment 4096; scrypt logN 10. test/format.test.ts reads it with the current code, so a change that breaks old vaults fails.`,
  passphrase: 'golden vault passphrase',
  recoveryCode: init.recoveryCode,
  vaultId: init.vault.id,
  files: {
    'notes/fox.txt': { sha256: sha(fox), size: fox.length },
    empty: { sha256: sha(Buffer.alloc(0)), size: 0 },
    'tree/a.txt': { sha256: sha(a), size: a.length },
    'tree/sub/b.bin': { sha256: sha(b), size: b.length },
    'tree/none/': { sha256: sha(Buffer.alloc(0)), size: 0 },
  },
};
fs.writeFileSync(`test/golden/vault-${name}.json`, JSON.stringify(golden, null, 2) + '\n');
JS
rm -rf "$work"
echo "golden vault written: test/golden/vault-$NAME"
