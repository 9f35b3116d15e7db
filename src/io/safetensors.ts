// The safetensors file format (as written by Hugging Face's `safetensors`): an 8-byte
// little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__},
// then the raw little-endian tensor bytes. Reads and writes F32, F16, BF16, I32, I64 (read only).
// No memory mapping: files are read whole (checkpoints here are small enough).
import { readFileSync } from "node:fs";
import { FormatError } from "../errors.js";
import { writeFileAtomic } from "./atomic-file.js";

export type SafetensorsDType = "F32" | "F16" | "BF16" | "I32" | "I64";

const BYTES: Record<SafetensorsDType, number> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8 };

export interface NamedTensor {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Raw little-endian bytes, numel(shape) * bytes(dtype) long. */
  data: Uint8Array;
}

export interface SafetensorsFile {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Serialises tensors (in the given order) and string metadata. Header padded to 8 bytes. */
export function encodeSafetensors(
  tensors: readonly NamedTensor[],
  metadata: Record<string, string> = {},
): Uint8Array[] {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const size = numel(t.shape) * BYTES[t.dtype];
    if (t.data.byteLength !== size) {
      throw new FormatError(
        `tensor "${t.name}" has ${t.data.byteLength} bytes but [${t.shape}] ${t.dtype} needs ${size}`,
      );
    }
    if (t.name in header) throw new FormatError(`tensor name "${t.name}" appears twice`);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = new Uint8Array(8);
  new DataView(head.buffer).setBigUint64(0, BigInt(Buffer.byteLength(json)), true);
  return [head, Buffer.from(json, "utf8"), ...tensors.map((t) => t.data)];
}

export function writeSafetensors(
  path: string,
  tensors: readonly NamedTensor[],
  metadata: Record<string, string> = {},
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Parses a safetensors byte buffer; every error names the file (`source`) and what is wrong. */
export function decodeSafetensors(bytes: Uint8Array, source = "safetensors data"): SafetensorsFile {
  if (bytes.byteLength < 8)
    throw new FormatError(`${source}: ${bytes.byteLength} bytes is too short for a safetensors file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (8 + headerLen > bytes.byteLength) {
    throw new FormatError(`${source}: header length ${headerLen} runs past the end of the file (truncated?)`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLen)).toString("utf8"));
  } catch (e) {
    throw new FormatError(`${source}: header is not valid JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + headerLen;
  const tensors = new Map<string, NamedTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    if (!e.dtype || !(e.dtype in BYTES))
      throw new FormatError(`${source}: tensor "${name}" has unsupported dtype ${e.dtype}`);
    const dtype = e.dtype as SafetensorsDType;
    const shape = e.shape ?? [];
    const [start, end] = e.data_offsets ?? [0, -1];
    if (end - start !== numel(shape) * BYTES[dtype] || dataStart + end > bytes.byteLength) {
      throw new FormatError(
        `${source}: tensor "${name}" offsets [${start}, ${end}] do not fit [${shape}] ${dtype} or the file`,
      );
    }
    tensors.set(name, { name, dtype, shape, data: bytes.slice(dataStart + start, dataStart + end) });
  }
  return { tensors, metadata };
}

export function readSafetensors(path: string): SafetensorsFile {
  return decodeSafetensors(new Uint8Array(readFileSync(path)), path);
}

/** Little-endian f32 bytes of an array (copying). */
export function f32Bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

/** Bytes -> Float32Array (copying, so alignment never matters). */
export function bytesToF32(b: Uint8Array): Float32Array {
  return new Float32Array(b.slice().buffer);
}
