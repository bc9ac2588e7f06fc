/**
 * The generic forgeries (forgeries.ts) on a 3-of-5 vault: two hostile locations, listed
 * first (t − 1 = X = 2).
 */
import { defineForgeries } from './forgeries';

defineForgeries({ policy: '3-of-5', hostile: [0, 1] });
