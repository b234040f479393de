// The built-in eras, oldest first: the order is the order of the era matrix and of `v5.9..` ranges.
import type { Policy } from '../policy.js';
import { v4_8 } from './v4.8.js';
import { v4_9 } from './v4.9.js';
import { v4_10 } from './v4.10.js';
import { v4_13 } from './v4.13.js';
import { v4_14 } from './v4.14.js';
import { v4_15 } from './v4.15.js';
import { v4_20 } from './v4.20.js';
import { v5_4 } from './v5.4.js';
import { v5_5 } from './v5.5.js';
import { v5_7 } from './v5.7.js';
import { v5_8 } from './v5.8.js';
import { v5_9 } from './v5.9.js';
import { v5_11 } from './v5.11.js';
import { v5_12 } from './v5.12.js';
import { v5_14 } from './v5.14.js';
import { v5_16 } from './v5.16.js';
import { v5_18 } from './v5.18.js';
import { v5_19 } from './v5.19.js';
import { v6_0 } from './v6.0.js';
import { v6_1 } from './v6.1.js';
import { v6_2 } from './v6.2.js';
import { v6_3 } from './v6.3.js';
import { v6_4 } from './v6.4.js';
import { v6_5 } from './v6.5.js';
import { v6_11 } from './v6.11.js';
import { v6_15 } from './v6.15.js';
import { v6_18 } from './v6.18.js';

export const ERAS: readonly Policy[] = [v4_8, v4_9, v4_10, v4_13, v4_14, v4_15, v4_20, v5_4, v5_5, v5_7, v5_8, v5_9, v5_11, v5_12, v5_14, v5_16, v5_18, v5_19, v6_0, v6_1, v6_2, v6_3, v6_4, v6_5, v6_11, v6_15, v6_18];

export const ERA_NAMES: readonly string[] = ERAS.map((e) => e.name);

/**
 * An era by name (`v5.9` or `5.9`), or by a kernel release it covers (`5.15`, `6.18.44`,
 * `6.18.44-generic`, without a 'v'): the latest era whose first release is not after it.
 */
export function findEra(name: string): Policy | undefined {
  const wanted = name.startsWith('v') ? name : `v${name}`;
  const era = ERAS.find((e) => e.name === wanted);
  // A name with a 'v' names an era; a bare version may be any kernel release.
  return era ?? (name.startsWith('v') ? undefined : eraForKernel(name));
}

function versionOf(text: string): [number, number] | null {
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+~_].*)?$/.exec(text);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/**
 * The era of a kernel release (`uname -r`): the latest era whose first release (the start of its
 * `kernels` range: v6.18 stands for 6.5 - 6.18) is not after it. Releases newer than the newest
 * era get the newest era; releases before the first get none. Stable backports that brought a
 * later era's fix to an older branch are not tracked (the eras' `kernels` notes name them).
 */
/** The longterm (LTS) branches of kernel.org since 4.9, oldest first. */
export const LTS_KERNELS = ['4.9', '4.14', '4.19', '5.4', '5.10', '5.15', '6.1', '6.6', '6.12'] as const;

/** The LTS branches whose first release falls in `era` (stable backports aside). */
export function ltsKernelsOf(era: Policy): string[] {
  return LTS_KERNELS.filter((k) => eraForKernel(k)?.name === era.name);
}

export function eraForKernel(release: string): Policy | undefined {
  const v = versionOf(release);
  if (!v) return undefined;
  let found: Policy | undefined;
  for (const e of ERAS) {
    const first = /^(\d+\.\d+)/.exec(e.kernels);
    const ev = versionOf(first ? first[1] : e.name);
    if (ev && (ev[0] < v[0] || (ev[0] === v[0] && ev[1] <= v[1]))) found = e;
  }
  return found;
}
