// Finds and reads the paper's 1B table fixture (test/fixtures/cla-1b-table1.csv) whether the tests
// run from source (tsx), from dist/test/experiments, or from the repository root.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const candidates = [
  new URL("../fixtures/cla-1b-table1.csv", import.meta.url),
  new URL("../../../test/fixtures/cla-1b-table1.csv", import.meta.url),
  join(process.cwd(), "test/fixtures/cla-1b-table1.csv"),
];

export function paperCsv(): string {
  const found = candidates.find((c) => existsSync(c));
  assert.ok(found, "test/fixtures/cla-1b-table1.csv not found");
  return readFileSync(found, "utf8");
}
