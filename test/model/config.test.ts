// Tests for ModelConfig validation and loading: defaults, every kvSharing form, actionable errors
// (field, value, fix), camelCase hints, preset lookup (case-insensitive, "did you mean") and JSON files.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ConfigError } from "../../src/errors.js";
import { CONFIG_DEFAULTS, loadModelConfig, parseModelConfig } from "../../src/model/config.js";
import { listPresets } from "../../src/model/presets/index.js";

const minimal = { vocabSize: 256, dModel: 64, nLayers: 4, nHeads: 4, ffnDim: 176 };

test("defaults are applied and documented values hold", () => {
  const c = parseModelConfig(minimal);
  assert.equal(c.name, "custom");
  assert.equal(c.nKvHeads, 4);
  assert.equal(c.headDim, 16);
  assert.equal(c.normEps, 1e-5);
  assert.equal(c.ropeBase, 10000);
  assert.equal(c.tiedEmbeddings, false);
  assert.equal(c.initStd, 0.01275);
  assert.equal(c.maxSeqLen, 2048);
  assert.equal(c.kvDtype, "f16");
  assert.deepEqual(c.kvSharing, { kind: "uniform", factor: 1 });
  assert.equal(CONFIG_DEFAULTS.initStd, 0.01275);
});

test("kvSharing: number, name, array and object forms", () => {
  assert.deepEqual(parseModelConfig({ ...minimal, kvSharing: 2 }).kvSharing, { kind: "uniform", factor: 2 });
  assert.deepEqual(parseModelConfig({ ...minimal, kvSharing: "cla2" }).kvSharing, {
    kind: "uniform",
    factor: 2,
  });
  assert.deepEqual(parseModelConfig({ ...minimal, kvSharing: "keep-ends" }).kvSharing, {
    kind: "pattern",
    pattern: "keep-ends",
  });
  assert.deepEqual(parseModelConfig({ ...minimal, kvSharing: [0, 0, 0, 3] }).kvSharing, {
    kind: "map",
    producers: [0, 0, 0, 3],
  });
  // A parsed config round-trips through JSON.
  const c = parseModelConfig({ ...minimal, name: "x", kvSharing: "dense-back", kvDtype: "bf16" });
  assert.deepEqual(parseModelConfig(JSON.parse(JSON.stringify(c))), c);
});

test("errors name the field, the value and the fix", () => {
  const bad = (json: unknown, re: RegExp) =>
    assert.throws(
      () => parseModelConfig(json, "my.json"),
      (e: unknown) => e instanceof ConfigError && re.test(e.message) && e.message.startsWith("my.json: "),
    );
  bad(
    { ...minimal, nHeads: 16, dModel: 256, nKvHeads: 3 },
    /nKvHeads 3 does not divide nHeads 16: choose one of 1, 2, 4, 8, 16/,
  );
  bad({ ...minimal, nHeads: 5 }, /nHeads 5 does not divide dModel 64: set "headDim"/);
  bad({ ...minimal, headDim: 45 }, /headDim 45 is odd: .* use 44 or 46/);
  bad({ ...minimal, n_heads: 4 }, /unknown field "n_heads" \(fields are camelCase: use "nHeads"\)/);
  bad({ ...minimal, ffnDm: 4 }, /unknown field "ffnDm" \(did you mean "ffnDim"\?\)/);
  bad({ ...minimal, dModel: -64 }, /field "dModel" = -64 is invalid/);
  bad({ ...minimal, kvDtype: "int4" }, /field "kvDtype" = "int4" is invalid/);
  bad({ vocabSize: 10, dModel: 8, nLayers: 1, nHeads: 1 }, /field "ffnDim" is required/);
  bad({ ...minimal, kvSharing: [0, 1, 0, 3] }, /kvSharing: producer map is not non-decreasing at layer 2/);
  bad({ ...minimal, kvSharing: 5 }, /kvSharing factor 5 is out of range/);
  bad([1, 2], /must be a JSON object/);
});

test("loadModelConfig: presets case-insensitively, 1b- alias, did-you-mean, JSON files", () => {
  assert.equal(loadModelConfig("h128-mqa-cla2").name, "H128-MQA-CLA2");
  assert.equal(loadModelConfig("1b-H128-MHA").nKvHeads, 16);
  assert.throws(() => loadModelConfig("H128-MQA-CLA5"), /did you mean "H128-MQA-CLA2"/);
  assert.throws(() => loadModelConfig("./nope/missing.json"), /cannot read config file/);
  const dir = mkdtempSync(join(tmpdir(), "cl-config-"));
  const file = join(dir, "mine.json");
  writeFileSync(file, JSON.stringify({ ...minimal, kvSharing: "cla2" }));
  const c = loadModelConfig(file);
  assert.equal(c.name, "mine");
  assert.deepEqual(c.kvSharing, { kind: "uniform", factor: 2 });
  writeFileSync(file, "{ nope");
  assert.throws(() => loadModelConfig(file), /is not valid JSON/);
  writeFileSync(file, JSON.stringify({ ...minimal, nKvHeads: 3 }));
  assert.throws(
    () => loadModelConfig(file),
    (e: unknown) => String(e).includes(`${file}: nKvHeads 3`),
  );
});

test("presets: unique names, the families the studies need", () => {
  const presets = listPresets();
  const names = presets.map((p) => p.name.toLowerCase());
  assert.equal(new Set(names).size, names.length);
  const fam = (f: string) => presets.filter((p) => p.family === f);
  assert.equal(fam("1b").length, 20);
  assert.ok(fam("3b").length >= 2);
  for (const f of ["tiny", "small"]) {
    const want = [
      "MHA",
      "GQA4",
      "GQA2",
      "MQA",
      "MQA-CLA2",
      "GQA4-CLA2",
      "MQA-CLA3",
      "MQA-CLA4",
      "KeepEnds",
      "DenseFront",
    ];
    for (const w of want)
      assert.ok(
        fam(f).some((p) => p.name.endsWith(`-${w}`)),
        `${f} has ${w}`,
      );
    assert.equal(
      new Set(
        fam(f)
          .filter((p) => p.name.endsWith("-MQA-CLA2"))
          .map((p) => p.config.headDim),
      ).size,
      3,
    );
    assert.equal(
      new Set(
        fam(f)
          .filter((p) => p.name.endsWith("-MQA"))
          .map((p) => p.config.headDim),
      ).size,
      2,
    );
  }
  assert.ok(loadModelConfig("small-H64-MQA-CLA2"));
});
