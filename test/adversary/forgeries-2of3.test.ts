/**
 * The generic forgeries (forgeries.ts) on a 2-of-3 vault: one hostile location, listed
 * first (t − 1 = X = 1).
 */
import { defineForgeries } from './forgeries';

defineForgeries({ policy: '2-of-3', hostile: [0] });
