// Seeded pseudo-random numbers for sampling: xoshiro128** seeded through splitmix32, so each
// request's draws depend only on its seed (deterministic across runs, machines and batch mates).
// Not cryptographic. Seeds are any integer in [0, 2^53); equal seeds give equal streams.

export interface Rng {
  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number;
  /** Uniform 32-bit unsigned integer. */
  nextU32(): number;
}

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export function createRng(seed: number): Rng {
  if (!Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`seed ${seed} must be an integer in [0, 2^53)`);
  }
  // Fold both 32-bit halves of the seed into the splitmix state.
  const st = { s: (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32), 0x27d4eb2d) };
  let a = splitmix32(st);
  let b = splitmix32(st);
  let c = splitmix32(st);
  let d = splitmix32(st);
  if ((a | b | c | d) === 0) a = 1;
  const nextU32 = (): number => {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return r;
  };
  return { nextU32, next: () => nextU32() / 2 ** 32 };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
