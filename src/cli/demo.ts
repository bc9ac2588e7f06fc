/**
 * `shardvault demo`: a vault over five temporary folders, end to end, printing what
 * happens: store a file, lose two locations, read it back byte for byte, refuse a wrong
 * passphrase, show the access log. It runs the same engine as every other command.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { INSECURE_TEST_KDF } from '../core/crypto/kdf';
import { ShardvaultError } from '../core/errors';
import { getFile, placement, putFile, readAccessLog } from '../core/vault/files';
import { Vault } from '../core/vault/vault';
import { statusReport } from '../core/app';
import { formatBytes } from '../shared/format';
import { table } from './format';

const PLACES = ['usb-disk', 'nas', 'laptop', 'cloud-sync', 'office'];

/** Where a user goes from here: a vault of their own, over places they have. */
const NEXT_STEPS = `
Next: a vault of your own, over two or more places you have (folders, sftp://, webdav+https://):
  npx shardvault init --location /media/usb/vault#usb --location /mnt/nas/vault#nas \\
      --location ~/Dropbox/vault#cloud --survive 1 --secret-against 1
  npx shardvault put taxes-2026.pdf
  npx shardvault serve          # the same vault in your browser (the desktop UI, on this machine only)
See README.md, "Using it", and npx shardvault --help.`;

export async function runDemo(opts: { size?: number; keep: boolean; json: boolean }): Promise<number> {
  const size = opts.size ?? 8 * 1024 * 1024;
  const root = await fs.mkdtemp(nodePath.join(tmpdir(), 'shardvault-demo-'));
  const say = (text: string): void => {
    if (!opts.json) process.stdout.write(`${text}\n`);
  };
  const facts: Record<string, unknown> = { root, size };
  try {
    const folders = PLACES.map((p) => nodePath.join(root, 'locations', p));
    for (const f of folders) await fs.mkdir(f, { recursive: true });
    const profile = nodePath.join(root, 'profile');
    say(`Shardvault demo in ${root}`);
    say(`1. Five storage locations (folders standing in for a USB disk, a NAS, ...): ${PLACES.join(', ')}`);
    const passphrase = 'correct horse battery staple';
    const { vault, recoveryCode } = await Vault.create(profile, {
      locations: folders.map((f, i) => `${f}#${PLACES[i]}`),
      policy: { survive: 2, secretAgainst: 2 },
      passphrase,
      kdf: INSECURE_TEST_KDF,
      segmentSize: 1024 * 1024,
    });
    const p = vault.policy;
    say(`2. Created a vault that survives losing 2 locations and stays secret if 2 collude:`);
    say(
      `   k = ${p.data} of n = ${p.total} shards per file, unlock needs t = ${p.threshold} locations, storage cost ${(p.total / p.data).toFixed(2)}x`,
    );
    say(
      `   recovery code (printed once): ${recoveryCode}   [the demo uses an insecure scrypt cost, 2^10, to be quick]`,
    );

    const input = nodePath.join(root, 'secret-plans.bin');
    await fs.writeFile(input, randomBytes(size));
    const sha = createHash('sha256')
      .update(await fs.readFile(input))
      .digest('hex');
    const started = performance.now();
    const entry = await putFile(vault, createReadStream(input), 'secret-plans.bin', { expectedSize: size });
    const putMs = performance.now() - started;
    say(`3. Stored secret-plans.bin (${formatBytes(size)}) in ${putMs.toFixed(0)} ms; sha256 ${sha.slice(0, 16)}…`);
    const where = await placement(vault, 'secret-plans.bin');
    say(
      table(
        ['SHARD', 'LOCATION'],
        where.shards.map((s) => [String(s.index), s.locations.map((l) => `${l.name} (${l.state})`).join(', ')]),
      ).replace(/^/gm, '   '),
    );
    const names = await fs.readdir(nodePath.join(folders[0]!, 'shards'));
    say(
      `   On disk a location holds only random names and ciphertext, e.g. ${nodePath.join(PLACES[0]!, 'shards', names[0]!)}`,
    );

    const lost = [folders[1]!, folders[3]!];
    for (const f of lost) await fs.rename(f, `${f}.unplugged`);
    say(`4. Unplugged ${PLACES[1]} and ${PLACES[3]}:`);
    const status = await statusReport(vault);
    say(status.locations.map((l) => `   ${l.name.padEnd(10)} ${l.reachable ? 'online' : 'OFFLINE'}`).join('\n'));

    const output = nodePath.join(root, 'restored.bin');
    const getStarted = performance.now();
    await getFile(vault, 'secret-plans.bin', output);
    const getMs = performance.now() - getStarted;
    const back = createHash('sha256')
      .update(await fs.readFile(output))
      .digest('hex');
    if (back !== sha) throw new ShardvaultError('corrupt', 'the demo read back different bytes');
    say(
      `5. Read it back from the 3 remaining locations in ${getMs.toFixed(0)} ms: sha256 matches (${back.slice(0, 16)}…)`,
    );

    await vault.close();
    const again = await Vault.load(profile);
    try {
      await again.unlock({ passphrase: 'wrong guess' });
      throw new ShardvaultError('io', 'a wrong passphrase was accepted');
    } catch (err) {
      if (!(err instanceof ShardvaultError) || err.code !== 'auth') throw err;
      say(`6. A wrong passphrase is refused: "${err.message}" (and the attempt is logged)`);
    }
    await again.unlock({ passphrase });
    const { requests } = await readAccessLog(again);
    say('7. The access log, read from the locations:');
    say(
      table(
        ['TIME', 'ACTION', 'FILE', 'OUTCOME'],
        requests.map((r) => [r.time, r.action, r.file ?? '-', r.outcome]),
      ).replace(/^/gm, '   '),
    );
    await again.close();
    for (const f of lost) await fs.rename(`${f}.unplugged`, f);
    say(`8. Plugged them back in. ${opts.keep ? `Kept everything in ${root}` : 'Cleaning up.'}`);
    say(NEXT_STEPS);
    Object.assign(facts, {
      ok: true,
      sha256: sha,
      putMs: Math.round(putMs),
      getMs: Math.round(getMs),
      accessRequests: requests.length,
      entry,
    });
    if (opts.json) process.stdout.write(`${JSON.stringify(facts, null, 2)}\n`);
    return 0;
  } finally {
    if (!opts.keep) await fs.rm(root, { recursive: true, force: true });
  }
}
