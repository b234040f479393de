// The built-in eras, oldest first: the order is the order of the era matrix and of `v5.9..` ranges.
import type { Policy } from '../policy.js';
import { v4_9 } from './v4.9.js';
import { v5_8 } from './v5.8.js';
import { v5_9 } from './v5.9.js';
import { v5_11 } from './v5.11.js';
import { v5_12 } from './v5.12.js';
import { v5_18 } from './v5.18.js';
import { v5_19 } from './v5.19.js';
import { v6_0 } from './v6.0.js';
import { v6_2 } from './v6.2.js';
import { v6_18 } from './v6.18.js';

export const ERAS: readonly Policy[] = [v4_9, v5_8, v5_9, v5_11, v5_12, v5_18, v5_19, v6_0, v6_2, v6_18];

export const ERA_NAMES: readonly string[] = ERAS.map((e) => e.name);

export function findEra(name: string): Policy | undefined {
  const wanted = name.startsWith('v') ? name : `v${name}`;
  return ERAS.find((e) => e.name === wanted);
}
