// Bitstate hashing (supertrace), as SPIN's -DBITSTATE, and the coverage sketch of swarm search.
//
// A BitstateSet replaces the visited set by an array of 2^b bits. A state sets k bits whose
// positions come from its 64-bit fingerprint (fingerprint.ts) by double hashing, mixed with a
// seed; it is taken as new iff one of its k bits was still 0. A new state whose k bits happen
// to be set already is wrongly taken as visited and is not explored (an omission): the search
// may miss states, never report a violation that is not there. Memory is the bit array, fixed
// in advance, whatever the number of states.
//
// Estimates, assuming the bits a state sets are independent and uniform (Holzmann's analysis):
// with a fraction f of the bits set, a new state is taken as visited with probability about
// f^k. The search adds up, at every state taken as new, the number of states expected to have
// been lost just before it, p/(1-p) with p = f^k at that moment (about p while p is small):
// the expected number of states missed, not counting the states only they lead to. At the
// end, f^k is the probability that the next new state would be missed. SPIN's "hash factor"
// is the number of bits per state taken as new; above about 100, few states are missed.
//
// A CoverageSketch is a small bit array with one fixed hash, the same for every member of a
// swarm: OR-ing the members' sketches and counting the bits set estimates how many distinct
// states the members visited between them (linear counting, Whang et al. 1990).

/** The bounds of log2 of a bit array's size (2^35 bits are 4 GB). */
export const BITSTATE_MIN_LOG2 = 10;
export const BITSTATE_MAX_LOG2 = 35;
/** The default bit array is at most 2^32 bits (512 MB). */
export const BITSTATE_DEFAULT_MAX_LOG2 = 32;
export const DEFAULT_HASHES = 3;

/**
 * Node 20's typed arrays hold at most 2^32 bytes each: the bit array is kept in chunks of 2^27
 * 32-bit words (512 MB), so that 2^35 bits (4 GB) are eight of them.
 */
const CHUNK_LOG2_WORDS = 27;
const CHUNK_MASK = (1 << CHUNK_LOG2_WORDS) - 1;

/** murmur3's 32-bit finaliser: every input bit affects every output bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** What a bitstate search reports about its bit array. */
export interface BitstateStats {
  /** log2 of the number of bits. */
  log2Bits: number;
  bits: number;
  bytes: number;
  hashes: number;
  seed: number;
  /** States taken as new (explored). */
  states: number;
  bitsSet: number;
  /** The fraction of bits set. */
  fill: number;
  /** Bits per state taken as new (SPIN's hash factor); null before any state. */
  hashFactor: number | null;
  /** The expected number of new states wrongly taken as visited (their own successors aside). */
  expectedMissed: number;
  /** The probability that a new state would now be taken as visited: fill^hashes. */
  omissionProbability: number;
}

export class BitstateSet {
  readonly log2Bits: number;
  readonly hashes: number;
  private seedValue = 0;
  private seedA = 0;
  private seedB = 0;
  private readonly chunks: Uint32Array[];
  private readonly wordMask: number;
  /** States taken as new. */
  size = 0;
  bitsSet = 0;
  /** Σ p/(1-p) over the states taken as new, p = fill^hashes just before each. */
  expectedMissed = 0;

  constructor(log2Bits: number, hashes = DEFAULT_HASHES, seed = 0) {
    if (!Number.isInteger(log2Bits) || log2Bits < BITSTATE_MIN_LOG2 || log2Bits > BITSTATE_MAX_LOG2) {
      throw new RangeError(`bitstate: log2 of the bits must be an integer from ${BITSTATE_MIN_LOG2} to ${BITSTATE_MAX_LOG2}, found ${log2Bits}`);
    }
    if (!Number.isInteger(hashes) || hashes < 1 || hashes > 16) throw new RangeError(`bitstate: hashes must be an integer from 1 to 16, found ${hashes}`);
    this.log2Bits = log2Bits;
    this.hashes = hashes;
    const words = 2 ** (log2Bits - 5);
    this.wordMask = words - 1;
    const chunkWords = 2 ** CHUNK_LOG2_WORDS;
    this.chunks = [];
    for (let left = words; left > 0; left -= chunkWords) this.chunks.push(new Uint32Array(Math.min(left, chunkWords)));
    this.setSeed(seed);
  }

  private setSeed(seed: number): void {
    this.seedValue = seed >>> 0;
    this.seedA = fmix32(this.seedValue ^ 0x9e3779b9);
    this.seedB = fmix32(this.seedValue ^ 0x7f4a7c15);
  }

  get seed(): number {
    return this.seedValue;
  }

  get bits(): number {
    return 2 ** this.log2Bits;
  }

  get bytes(): number {
    return 2 ** (this.log2Bits - 3);
  }

  /** The fraction of bits set. */
  fill(): number {
    return this.bitsSet / this.bits;
  }

  /** The probability that a new state would now be taken as visited. */
  omissionProbability(): number {
    return this.fill() ** this.hashes;
  }

  /** Bits per state taken as new; null before any. */
  hashFactor(): number | null {
    return this.size ? this.bits / this.size : null;
  }

  /** Empty the array, with new hash functions (`seed`): a fresh set without a new allocation. */
  reset(seed: number): void {
    for (const c of this.chunks) c.fill(0);
    this.size = 0;
    this.bitsSet = 0;
    this.expectedMissed = 0;
    this.setSeed(seed);
  }

  /**
   * Sets the state's bits; true (new) iff one of them was 0. The k positions are double hashed
   * in two 32-bit lanes: word (a + i·b) mod 2^(b-5) and bit (c + i·d) >>> 27, with b and d odd,
   * so the k words are distinct whenever the array has at least k words.
   */
  add(h1: number, h2: number): boolean {
    const a = fmix32(h1 ^ this.seedA);
    const b = fmix32(h2 ^ this.seedB) | 1;
    const c = fmix32(a ^ h2);
    const d = fmix32(b ^ h1 ^ this.seedB) | 1;
    const chunks = this.chunks;
    const mask = this.wordMask;
    let fresh = 0;
    for (let i = 0; i < this.hashes; i++) {
      const w = (a + Math.imul(i, b)) & mask;
      const bit = 1 << ((c + Math.imul(i, d)) >>> 27);
      const chunk = chunks[w >>> CHUNK_LOG2_WORDS];
      const o = w & CHUNK_MASK;
      const x = chunk[o];
      if ((x & bit) === 0) {
        chunk[o] = x | bit;
        fresh++;
      }
    }
    if (fresh === 0) return false;
    const p = (this.bitsSet / this.bits) ** this.hashes;
    this.expectedMissed += p < 1 ? p / (1 - p) : 0;
    this.bitsSet += fresh;
    this.size++;
    return true;
  }

  stats(): BitstateStats {
    return {
      log2Bits: this.log2Bits,
      bits: this.bits,
      bytes: this.bytes,
      hashes: this.hashes,
      seed: this.seedValue,
      states: this.size,
      bitsSet: this.bitsSet,
      fill: this.fill(),
      hashFactor: this.hashFactor(),
      expectedMissed: this.expectedMissed,
      omissionProbability: this.omissionProbability(),
    };
  }
}

/**
 * The bit array's size when none is given: the largest power of two that fits in `shareMb`
 * (half of --max-memory, divided among the swarm members that run at once), at most 2^32 bits.
 * Null when not even 2^10 bits fit.
 */
export function defaultLog2Bits(shareMb: number): number | null {
  const bits = shareMb * 2 ** 23;
  if (!(bits >= 2 ** BITSTATE_MIN_LOG2)) return null;
  return Math.min(BITSTATE_DEFAULT_MAX_LOG2, Math.floor(Math.log2(bits)));
}

/** The default size of a coverage sketch: 2^24 bits (2 MB). */
export const SKETCH_LOG2 = 24;

/** A bit array with one fixed hash, the same for every member of a swarm. */
export class CoverageSketch {
  readonly log2Bits: number;
  readonly words: Uint32Array;
  private readonly mask: number;

  constructor(log2Bits = SKETCH_LOG2, words?: Uint32Array) {
    if (!Number.isInteger(log2Bits) || log2Bits < 5 || log2Bits > 32) throw new RangeError(`sketch: log2 of the bits must be an integer from 5 to 32, found ${log2Bits}`);
    this.log2Bits = log2Bits;
    this.mask = log2Bits === 32 ? 0xffffffff : 2 ** log2Bits - 1;
    this.words = words ?? new Uint32Array(2 ** (log2Bits - 5));
    if (this.words.length !== 2 ** (log2Bits - 5)) throw new RangeError(`sketch: ${this.words.length} words for 2^${log2Bits} bits`);
  }

  get bits(): number {
    return 2 ** this.log2Bits;
  }

  add(h1: number, h2: number): void {
    const pos = (fmix32(h1 ^ fmix32(h2 ^ 0x5bd1e995)) & this.mask) >>> 0;
    this.words[pos >>> 5] |= 1 << (pos & 31);
  }

  /** Adds another sketch's bits (same size) to this one's. */
  or(other: Uint32Array): void {
    if (other.length !== this.words.length) throw new RangeError(`sketch: OR of ${other.length} words into ${this.words.length}`);
    const w = this.words;
    for (let i = 0; i < w.length; i++) w[i] |= other[i];
  }

  bitsSet(): number {
    let n = 0;
    const w = this.words;
    for (let i = 0; i < w.length; i++) n += popcount32(w[i]);
    return n;
  }

  /** The estimated number of distinct states added: linear counting. */
  estimate(): number {
    return linearCount(this.bits, this.bitsSet());
  }
}

export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * Linear counting: n distinct items hashed into m bits leave about m·e^(-n/m) bits at 0, so
 * n ≈ -m·ln(1 - X/m) with X bits set. Infinity once every bit is set (the sketch is saturated).
 */
export function linearCount(m: number, set: number): number {
  if (set >= m) return Infinity;
  return -m * Math.log1p(-set / m);
}
