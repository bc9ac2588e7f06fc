/**
 * What each fault scenario counts, and the summary the suite prints: trials, faults
 * injected, files checked byte for byte, bytes lost and wrong bytes released (both must be
 * 0). Each test file writes its scenarios' counts to the folder the global setup provides;
 * the global teardown adds them up.
 */
import { writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';

/** SHARDVAULT_FAULT_LONG=1: more trials, and the parser fuzzing at 100,000 runs. */
export const LONG = process.env['SHARDVAULT_FAULT_LONG'] === '1';

/** A seed as given in SHARDVAULT_FAULT_SEED: decimal or 0x-hex, kept to 32 bits. */
export function parseSeed(text: string): number {
  const value = Number(text.trim());
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`SHARDVAULT_FAULT_SEED must be a non-negative integer, got ${JSON.stringify(text)}`);
  }
  return value >>> 0;
}

export interface ScenarioStats {
  scenario: string;
  trials: number;
  faults: number;
  filesChecked: number;
  /** Bytes of committed files that a fault within the policy made unreadable or missing. */
  bytesLost: number;
  /** Bytes a `get` released that were not the committed ones (or left behind after failing). */
  wrongBytes: number;
  /** Why parts of the scenario did not run (no mount, a known bug). */
  skipped: string[];
  /** Measurements worth reading (how long a get took around a frozen server). */
  notes: string[];
  durationMs: number;
}

export class Stats implements ScenarioStats {
  trials = 0;
  faults = 0;
  filesChecked = 0;
  bytesLost = 0;
  wrongBytes = 0;
  skipped: string[] = [];
  notes: string[] = [];
  durationMs = 0;
  private readonly started = Date.now();

  constructor(readonly scenario: string) {}

  note(text: string): void {
    this.notes.push(text);
    console.log(`[${this.scenario}] ${text}`);
  }

  skip(reason: string): void {
    this.skipped.push(reason);
    console.log(`[${this.scenario}] SKIPPED: ${reason}`);
  }

  toJSON(): ScenarioStats {
    return {
      scenario: this.scenario,
      trials: this.trials,
      faults: this.faults,
      filesChecked: this.filesChecked,
      bytesLost: this.bytesLost,
      wrongBytes: this.wrongBytes,
      skipped: this.skipped,
      notes: this.notes,
      durationMs: this.durationMs,
    };
  }

  /** Writes the counts for the global summary and prints this scenario's line. */
  save(dir: string): void {
    this.durationMs = Date.now() - this.started;
    const file = this.scenario.replace(/[^A-Za-z0-9_-]+/g, '_');
    writeFileSync(nodePath.join(dir, `${file}.json`), JSON.stringify(this.toJSON()));
    console.log(summaryLine(this));
  }
}

function summaryLine(s: ScenarioStats): string {
  return (
    `${s.scenario.padEnd(22)} trials ${String(s.trials).padStart(5)}  faults ${String(s.faults).padStart(6)}  ` +
    `files checked ${String(s.filesChecked).padStart(5)}  bytes lost ${String(s.bytesLost).padStart(3)}  ` +
    `wrong bytes released ${String(s.wrongBytes).padStart(3)}  ${(s.durationMs / 1000).toFixed(1).padStart(6)} s`
  );
}

export function formatSummary(all: readonly ScenarioStats[], seed: number, wallMs: number): string {
  const total: ScenarioStats = {
    scenario: 'TOTAL',
    trials: 0,
    faults: 0,
    filesChecked: 0,
    bytesLost: 0,
    wrongBytes: 0,
    skipped: [],
    notes: [],
    durationMs: wallMs,
  };
  for (const s of all) {
    total.trials += s.trials;
    total.faults += s.faults;
    total.filesChecked += s.filesChecked;
    total.bytesLost += s.bytesLost;
    total.wrongBytes += s.wrongBytes;
  }
  const lines = [`fault suite summary (seed ${seed})`, ...all.map(summaryLine), summaryLine(total)];
  for (const s of all) {
    for (const n of s.notes) lines.push(`  ${s.scenario}: ${n}`);
    for (const k of s.skipped) lines.push(`  ${s.scenario}: skipped: ${k}`);
  }
  return lines.join('\n');
}
