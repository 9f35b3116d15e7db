// The i32 metadata of one engine step, packed into one array and kept between steps. Decode steps
// of a large batch repeat almost all of it: the block tables (B x maxBlocks entries, 128 x 256 at
// batch 128 and context 4096) change in a few rows per step (a sequence gaining a block every
// blockSize tokens), while ids, positions, slots and lengths (O(B)) change every step. So the
// packer keeps the packed array and, per table row, the version of the block table it holds
// (BlockTables.table): a step re-packs and uploads only the rows whose version changed, plus the
// small per-step head. Anything else (another layout, another device buffer, a failed upload)
// packs and uploads everything, as a fresh pack would; both give the same bytes on the device.
import type { Backend } from "../backend/backend.js";
import { type DeviceBuffer, type Tensor, view } from "../backend/tensor.js";
import type { BlockTables } from "./block-tables.js";

/** What the packer needs of one sequence's part of a step (see ForwardItem). */
export interface MetaItem {
  id: string;
  tokens: readonly number[];
  start: number;
  slots: ArrayLike<number>;
  sample: boolean;
}

/**
 * Element offsets of the sections: ids (N) | positions (N) | slots (N) | seqLens (B) |
 * queryStarts (B + 1) | sampleRows (M) | block tables (B, maxBlocks). Everything that changes every
 * step comes first (one upload); the tables last. Positions and slots stay adjacent (the fused
 * q/k/v + append kernel reads them as one view).
 */
export function metaSections(n: number, b: number, m: number, maxBlocks: number) {
  const ids = 0;
  const positions = n;
  const slots = 2 * n;
  const seqLens = 3 * n;
  const queryStarts = seqLens + b;
  const sampleRows = queryStarts + b + 1;
  const tables = sampleRows + m;
  const total = tables + b * maxBlocks;
  return { ids, positions, slots, seqLens, queryStarts, sampleRows, tables, total };
}

/** The packed metadata of one step (see metaSections). Valid until the next pack. */
export interface StepMeta {
  n: number;
  b: number;
  m: number;
  maxBlocks: number;
  packed: Int32Array;
}

/** Table rows at most this far apart are uploaded as one range (a write costs more than ~8 KiB). */
const MERGE_GAP_BYTES = 8192;

export class MetaPacker {
  private packed = new Int32Array(0);
  private layoutKey = "";
  /** The device buffer whose table section holds `packed`'s (null: unknown, upload it all). */
  private device: DeviceBuffer | null = null;
  /** Per table row: the table version packed there (-1: none) and the entries set (the rest 0). */
  private rowVersion = new Float64Array(0);
  private rowLen = new Int32Array(0);
  /** Rows re-packed by the last pack(), in increasing order. */
  private dirty: number[] = [];
  /** Whether the last pack went up (a pack never uploaded leaves the device a step behind). */
  private uploaded = true;
  /** Steps packed / table rows re-packed (both counted by pack; tests and benches read them). */
  readonly counts = { steps: 0, fullPacks: 0, rowsPacked: 0, writes: 0 };

  constructor(private readonly tables: BlockTables) {}

  /** Packs the step's metadata; `upload` then writes what changed since the last upload. */
  pack(items: readonly MetaItem[]): StepMeta {
    const b = items.length;
    const views = new Array<{ blocks: readonly number[]; version: number }>(b);
    let longest = 1;
    let n = 0;
    let m = 0;
    for (let i = 0; i < b; i++) {
      const it = items[i]!;
      const t = this.tables.table(it.id);
      views[i] = t;
      if (t.blocks.length > longest) longest = t.blocks.length;
      n += it.tokens.length;
      if (it.sample) m++;
    }
    // Padded to a power of two (>= 8) so the tensors' shapes, the cached bind groups and the recorded
    // decode step (keyed on the width) change only log2(context) times in a sequence's life: a
    // multiple of 8 re-recorded every 128 tokens at block size 16 (~1.5-2 ms of host work each).
    const maxBlocks = Math.max(8, 2 ** Math.ceil(Math.log2(longest)));
    const at = metaSections(n, b, m, maxBlocks);
    const key = `${n} ${b} ${m} ${maxBlocks}`;
    this.counts.steps++;
    if (!this.uploaded) this.device = null;
    this.uploaded = false;
    if (key !== this.layoutKey) {
      // unused block-table entries stay 0: a valid block, never read
      this.packed = new Int32Array(at.total);
      this.rowVersion = new Float64Array(b).fill(-1);
      this.rowLen = new Int32Array(b);
      this.layoutKey = key;
      this.device = null;
    }
    const { packed, rowVersion, rowLen } = this;
    let r = 0;
    let k = 0;
    for (let i = 0; i < b; i++) {
      const it = items[i]!;
      const len = it.tokens.length;
      packed[at.seqLens + i] = it.start + len;
      packed[at.queryStarts + i] = r;
      for (let j = 0; j < len; j++) {
        packed[at.ids + r + j] = it.tokens[j]!;
        packed[at.slots + r + j] = it.slots[j]!;
        packed[at.positions + r + j] = it.start + j;
      }
      r += len;
      if (it.sample) packed[at.sampleRows + k++] = r - 1;
    }
    packed[at.queryStarts + b] = r;
    const dirty: number[] = [];
    for (let i = 0; i < b; i++) {
      const t = views[i]!;
      if (rowVersion[i] === t.version) continue;
      const row = at.tables + i * maxBlocks;
      const blocks = t.blocks;
      for (let j = 0; j < blocks.length; j++) packed[row + j] = blocks[j]!;
      if (rowLen[i]! > blocks.length) packed.fill(0, row + blocks.length, row + rowLen[i]!);
      rowVersion[i] = t.version;
      rowLen[i] = blocks.length;
      dirty.push(i);
    }
    this.counts.rowsPacked += dirty.length;
    this.dirty = dirty;
    return { n, b, m, maxBlocks, packed };
  }

  /**
   * Writes the last pack into `metaT` (an i32 tensor of packed.length elements): all of it when
   * `metaT`'s buffer may not hold the previous pack's tables, else the per-step head and the
   * table rows that changed, in as few writes as is worth it.
   */
  upload(be: Backend, metaT: Tensor, sm: StepMeta): void {
    const { packed } = this;
    const at = metaSections(sm.n, sm.b, sm.m, sm.maxBlocks);
    const write = (from: number, to: number) => {
      be.write(view(metaT.buffer, [to - from], metaT.offset + from), packed.subarray(from, to));
      this.counts.writes++;
    };
    const incremental = this.device === metaT.buffer;
    this.device = null; // unknown until every write below went through
    if (!incremental || this.dirty.length === sm.b) {
      this.counts.fullPacks++;
      write(0, at.total);
    } else {
      write(0, at.tables);
      const rowElems = sm.maxBlocks;
      const gapRows = Math.max(0, Math.floor(MERGE_GAP_BYTES / (4 * rowElems)));
      const d = this.dirty;
      for (let i = 0; i < d.length; ) {
        let j = i;
        while (j + 1 < d.length && d[j + 1]! - d[j]! - 1 <= gapRows) j++;
        write(at.tables + d[i]! * rowElems, at.tables + (d[j]! + 1) * rowElems);
        i = j + 1;
      }
    }
    this.device = metaT.buffer;
    this.uploaded = true;
  }
}
