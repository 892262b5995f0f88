/**
 * Where is a token digest's slot, and which slot is the least recently used? A bounded LRU index over 32-byte
 * digests kept in typed arrays: the digests, the hash index and the recency list are a few flat buffers, not
 * a key string, a map entry and list cells per entry. With 100 000 verdicts cached that is the difference
 * between a handful of heap objects per entry for the garbage collector to mark and none
 * (docs/benchmarks.md, "verdict cache").
 *
 * A digest is given as a string of 32 characters, one per byte (Node's `binary` digest encoding: cheaper to
 * produce than a Buffer). Slots are small integers, dense from 0; the caller keeps its values in arrays
 * indexed by slot. Look-ups compare all 32 bytes. The index is open addressing with linear probing on the digest's first word: only
 * digests of tokens that passed the signature check are inserted, so no one can grind digests that collide.
 */

/** Bytes of a digest (SHA-256). */
const DIGEST_BYTES = 32;
const WORDS = DIGEST_BYTES / 4;
/** Slots allocated at first; doubled as entries arrive, up to the limit. */
const INITIAL_SLOTS = 1024;
const NONE = -1;

function powerOfTwoAtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** A bounded LRU index of digests to slots. */
export class DigestTable {
  /** Most entries held at once. */
  readonly limit: number;
  #words: Int32Array;
  #prev: Int32Array;
  #next: Int32Array;
  /** Hash index: slot + 1, 0 when empty; at most half full. */
  #index: Int32Array;
  #mask: number;
  /** Most recently used slot, and least. */
  #head = NONE;
  #tail = NONE;
  #size = 0;
  /** Slots handed out so far (the live ones, plus those on the free list). */
  #used = 0;
  readonly #free: number[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`DigestTable: limit must be ≥ 1 (got ${limit})`);
    this.limit = limit;
    this.#words = this.#prev = this.#next = this.#index = new Int32Array(0);
    this.#mask = 0;
    this.clear();
  }

  /** Entries held. */
  get size(): number {
    return this.#size;
  }

  /** The slot of `digest`, or -1. Does not change its recency. */
  find(digest: string): number {
    const w0 = readWord(digest, 0);
    const index = this.#index;
    const mask = this.#mask;
    for (let i = w0 & mask; ; i = (i + 1) & mask) {
      const entry = index[i]!;
      if (entry === 0) return NONE;
      const slot = entry - 1;
      if (this.#words[slot * WORDS] === w0 && this.#sameTail(slot, digest)) return slot;
    }
  }

  /** Marks `slot` the most recently used. */
  touch(slot: number): void {
    if (slot === this.#head) return;
    this.#unlink(slot);
    this.#pushHead(slot);
  }

  /** The least recently used slot, or -1 when empty. */
  oldest(): number {
    return this.#tail;
  }

  /**
   * Adds `digest` as the most recently used entry and returns its slot; an existing entry is only touched.
   * The caller makes room first: throws when the table is full.
   */
  insert(digest: string): number {
    const existing = this.find(digest);
    if (existing !== NONE) {
      this.touch(existing);
      return existing;
    }
    if (this.#size >= this.limit) throw new RangeError("DigestTable: full (remove the oldest entry first)");
    const slot = this.#allocate();
    const base = slot * WORDS;
    for (let w = 0; w < WORDS; w++) this.#words[base + w] = readWord(digest, w * 4);
    this.#place(slot);
    this.#pushHead(slot);
    this.#size += 1;
    return slot;
  }

  /** Removes the entry in `slot` (its slot may be handed out again). */
  remove(slot: number): void {
    const w0 = this.#words[slot * WORDS]!;
    const index = this.#index;
    const mask = this.#mask;
    let hole = w0 & mask;
    while (index[hole] !== slot + 1) hole = (hole + 1) & mask;
    // Backward-shift deletion: move up every later entry of the run whose home is not between the hole and
    // itself, so every remaining entry stays reachable from its home without tombstones.
    for (let j = (hole + 1) & mask; index[j] !== 0; j = (j + 1) & mask) {
      const home = this.#words[(index[j]! - 1) * WORDS]! & mask;
      const between = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (!between) {
        index[hole] = index[j]!;
        hole = j;
      }
    }
    index[hole] = 0;
    this.#unlink(slot);
    this.#free.push(slot);
    this.#size -= 1;
  }

  /** Removes every entry and gives back the memory beyond the first slots (also the initial state). */
  clear(): void {
    const slots = Math.min(this.limit, INITIAL_SLOTS);
    this.#words = new Int32Array(slots * WORDS);
    this.#prev = new Int32Array(slots);
    this.#next = new Int32Array(slots);
    this.#index = new Int32Array(powerOfTwoAtLeast(slots * 2));
    this.#mask = this.#index.length - 1;
    this.#head = NONE;
    this.#tail = NONE;
    this.#size = 0;
    this.#used = 0;
    this.#free.length = 0;
  }

  #sameTail(slot: number, digest: string): boolean {
    const base = slot * WORDS;
    for (let w = 1; w < WORDS; w++) if (this.#words[base + w] !== readWord(digest, w * 4)) return false;
    return true;
  }

  #place(slot: number): void {
    const index = this.#index;
    const mask = this.#mask;
    let i = this.#words[slot * WORDS]! & mask;
    while (index[i] !== 0) i = (i + 1) & mask;
    index[i] = slot + 1;
  }

  #allocate(): number {
    const reused = this.#free.pop();
    if (reused !== undefined) return reused;
    if (this.#used === this.#prev.length) this.#grow();
    return this.#used++;
  }

  /** Doubles the slots (up to the limit) and rebuilds the index for them. */
  #grow(): void {
    const slots = Math.min(this.limit, this.#prev.length * 2);
    const words = new Int32Array(slots * WORDS);
    words.set(this.#words);
    const prev = new Int32Array(slots);
    prev.set(this.#prev);
    const next = new Int32Array(slots);
    next.set(this.#next);
    this.#words = words;
    this.#prev = prev;
    this.#next = next;
    this.#index = new Int32Array(powerOfTwoAtLeast(slots * 2));
    this.#mask = this.#index.length - 1;
    for (let slot = this.#head; slot !== NONE; slot = this.#next[slot]!) this.#place(slot);
  }

  #pushHead(slot: number): void {
    this.#prev[slot] = NONE;
    this.#next[slot] = this.#head;
    if (this.#head !== NONE) this.#prev[this.#head] = slot;
    this.#head = slot;
    if (this.#tail === NONE) this.#tail = slot;
  }

  #unlink(slot: number): void {
    const p = this.#prev[slot]!;
    const n = this.#next[slot]!;
    if (p === NONE) this.#head = n;
    else this.#next[p] = n;
    if (n === NONE) this.#tail = p;
    else this.#prev[n] = p;
  }
}

/** The little-endian 32-bit word of the digest's bytes at `offset`. */
function readWord(digest: string, offset: number): number {
  return (
    digest.charCodeAt(offset) |
    (digest.charCodeAt(offset + 1) << 8) |
    (digest.charCodeAt(offset + 2) << 16) |
    (digest.charCodeAt(offset + 3) << 24)
  );
}
