// The train/validation split: a document goes to validation when the first 32 bits of
// sha256(document id), read as a fraction of 2^32, fall below valFraction. It depends only on the
// id, so adding or reordering documents never moves another document between splits.
import { createHash } from "node:crypto";

export function isValidationDocument(id: string, valFraction: number): boolean {
  if (valFraction <= 0) return false;
  if (valFraction >= 1) return true;
  const h = createHash("sha256").update(id, "utf8").digest();
  return h.readUInt32BE(0) / 2 ** 32 < valFraction;
}
