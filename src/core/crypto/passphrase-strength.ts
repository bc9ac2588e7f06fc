/**
 * How hard a new passphrase is to guess, estimated by zxcvbn (Wheeler, "zxcvbn: Low-Budget
 * Password Strength Estimation", USENIX Security 2016; the @zxcvbn-ts port with its common
 * and English dictionaries). Every location together holds what an offline guessing attack
 * needs (docs/SECURITY.md), so a passphrase chosen now (a new vault, a new passphrase after
 * recovery; a passphrase change, when there is one, must call this too) must reach score 3
 * of 4: zxcvbn's "safely unguessable: moderate protection from offline slow-hash scenario".
 * Never checked at unlock: a vault made before this check must still open.
 *
 * The estimator and its dictionaries (about 0.5 s to load here) are loaded on first use, so
 * the commands that never choose a passphrase don't pay for them.
 */
import { ShardvaultError } from '../errors';

/** zxcvbn's score (0..4) a new passphrase needs. */
export const MIN_PASSPHRASE_SCORE = 3;

export interface PassphraseVerdict {
  /** 0 (too guessable) .. 4 (very unguessable). */
  readonly score: number;
  readonly strong: boolean;
  /** The estimator's words on what makes it weak, if any. */
  readonly warning: string | null;
  readonly suggestions: readonly string[];
}

/** A new passphrase below MIN_PASSPHRASE_SCORE, refused unless the caller allows weak ones. */
export class WeakPassphraseError extends ShardvaultError {
  override readonly name = 'WeakPassphraseError';
  constructor(readonly verdict: PassphraseVerdict) {
    const advice = [verdict.warning, ...verdict.suggestions].filter((s): s is string => !!s);
    super(
      'weak-passphrase',
      `this passphrase is too easy to guess (strength ${verdict.score} of 4, ${MIN_PASSPHRASE_SCORE} needed)` +
        `${advice.length > 0 ? `: ${advice.join(' ')}` : '.'} A few unrelated words work well.`,
    );
  }
}

/** Words anyone attacking this vault would try first. */
const CONTEXT = ['shardvault', 'vault', 'shard', 'passphrase', 'recovery'];

type Estimator = (passphrase: string, userInputs: string[]) => PassphraseVerdict;
let estimator: Promise<Estimator> | null = null;

function loadEstimator(): Promise<Estimator> {
  estimator ??= (async () => {
    const [{ ZxcvbnFactory }, common, en] = await Promise.all([
      import('@zxcvbn-ts/core'),
      import('@zxcvbn-ts/language-common'),
      import('@zxcvbn-ts/language-en'),
    ]);
    const zxcvbn = new ZxcvbnFactory({
      translations: en.translations,
      graphs: common.adjacencyGraphs,
      dictionary: { ...common.dictionary, ...en.dictionary },
    });
    return (passphrase, userInputs) => {
      const result = zxcvbn.check(passphrase, userInputs);
      return {
        score: result.score,
        strong: result.score >= MIN_PASSPHRASE_SCORE,
        warning: result.feedback.warning || null,
        suggestions: result.feedback.suggestions,
      };
    };
  })();
  estimator.catch(() => (estimator = null));
  return estimator;
}

/** The estimator's verdict on `passphrase`; `userInputs` are words it should count as known
 * (names of the vault's locations, say). */
export async function ratePassphrase(
  passphrase: string,
  userInputs: readonly string[] = [],
): Promise<PassphraseVerdict> {
  if (typeof passphrase !== 'string') throw new TypeError('passphrase must be a string');
  return (await loadEstimator())(passphrase, [...CONTEXT, ...userInputs]);
}

/**
 * Refuses a weak new passphrase with WeakPassphraseError (code 'weak-passphrase': the CLI's
 * exit 2) unless `allowWeak`, which tests and people who know better ask for explicitly
 * (`--weak-passphrase`, the API's `allowWeakPassphrase`); then the estimator is not loaded.
 */
export async function requireStrongPassphrase(
  passphrase: string,
  options: { allowWeak?: boolean; userInputs?: readonly string[] } = {},
): Promise<void> {
  if (options.allowWeak) return;
  const verdict = await ratePassphrase(passphrase, options.userInputs);
  if (!verdict.strong) throw new WeakPassphraseError(verdict);
}
