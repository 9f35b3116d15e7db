// Shards + manifest: a folder (include globs, nested, binary skipped) and a JSONL file become
// shards whose bytes decode back to exactly the input documents, separated by <|endoftext|>;
// manifest fields agree with the files; the split is stable; worker threads change nothing.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { readCorpus } from "../../src/data/corpus.js";
import { globMatcher } from "../../src/data/glob.js";
import { readManifest } from "../../src/data/manifest.js";
import { buildShards } from "../../src/data/shards.js";
import { isValidationDocument } from "../../src/data/split.js";
import { ByteTokenizer } from "../../src/data/tokenizers/byte-tokenizer.js";
import { loadTokenizer } from "../../src/data/tokenizers/resolve.js";
import { FormatError } from "../../src/errors.js";

const root = mkdtempSync(join(tmpdir(), "cl-shards-"));
after(() => rmSync(root, { recursive: true, force: true }));

function makeFolder(): { dir: string; docs: Map<string, string> } {
  const dir = join(root, "texts");
  const docs = new Map<string, string>();
  const put = (rel: string, text: string | Buffer) => {
    mkdirSync(join(dir, rel, ".."), { recursive: true });
    writeFileSync(join(dir, rel), text);
  };
  for (let i = 0; i < 60; i++) {
    const rel = `${i % 3 === 0 ? "sub/deeper/" : ""}doc-${String(i).padStart(2, "0")}.md`;
    const text = `# Doc ${i}\n\nNaïve café text number ${i}. ${"word ".repeat(i)}🤗\n`;
    put(rel, text);
    docs.set(rel, text);
  }
  put("skip.txt", "not included");
  put("bin.md", Buffer.from([1, 2, 0, 3]));
  put(".hidden/x.md", "hidden");
  return { dir, docs };
}

test("globs: basename and path patterns, brace lists", () => {
  const m = globMatcher(["*.py", "docs/**/*.{md,rst}"]);
  assert.ok(m("a/b/c.py"));
  assert.ok(m("docs/x/y/z.rst"));
  assert.ok(m("docs/z.md"));
  assert.ok(!m("other/z.md"));
  assert.ok(!m("c.pyc"));
});

test("folder -> byte shards: decode to the documents exactly, manifest agrees with files", async () => {
  const { dir, docs } = makeFolder();
  const out = join(root, "out-bytes");
  const m = await buildShards({
    sources: [{ kind: "folder", path: dir, include: ["*.md"] }],
    out,
    tokenizer: "bytes",
    valFraction: 0.2,
    shardTokens: 1000,
    workers: 1,
  });
  assert.deepEqual(readManifest(out), m);
  assert.equal(m.dtype, "uint16");
  assert.equal(m.tokenizer.vocabSize, 257);
  assert.equal(m.sources[0]!.documents, 60); // skip.txt, bin.md and .hidden are not read
  const tok = new ByteTokenizer();
  const seen: string[] = [];
  for (const split of ["train", "val"] as const) {
    const info = m.splits[split];
    let total = 0;
    const all: number[] = [];
    for (const s of info.shards) {
      const buf = readFileSync(join(out, s.file));
      assert.equal(buf.length, 2 * s.tokens);
      assert.equal(createHash("sha256").update(buf).digest("hex"), s.sha256);
      assert.ok(s.tokens <= 1000);
      total += s.tokens;
      for (let i = 0; i < buf.length; i += 2) all.push(buf.readUInt16LE(i));
    }
    assert.equal(total, info.tokens);
    const texts = tok.decode(all).split("<|endoftext|>");
    assert.equal(texts.pop(), ""); // every document ends with EOT
    assert.equal(texts.length, info.documents);
    seen.push(...texts);
    const ids = [...docs.keys()].sort().filter((id) => isValidationDocument(id, 0.2) === (split === "val"));
    assert.deepEqual(
      texts,
      ids.map((id) => docs.get(id)!),
    ); // walk order (sorted names) within each split
  }
  assert.equal(seen.length, 60);
  assert.ok(m.splits.val.documents > 3 && m.splits.val.documents < 25, `${m.splits.val.documents} val docs`);
  // The saved tokenizer.json loads and encodes like the byte tokenizer.
  const saved = loadTokenizer(out);
  assert.deepEqual(saved.encode("héllo<|endoftext|>"), tok.encode("héllo<|endoftext|>"));
});

test("worker threads produce the same shards as inline encoding", async () => {
  const { dir } = makeFolder();
  const opts = {
    sources: [
      { kind: "folder" as const, path: dir },
      { kind: "brown" as const, categories: ["humor"] },
    ],
  };
  const a = await buildShards({ ...opts, out: join(root, "w1"), tokenizer: "gpt2", workers: 1 });
  const b = await buildShards({ ...opts, out: join(root, "w2"), tokenizer: "gpt2", workers: 2 });
  assert.deepEqual(a.splits, b.splits);
  assert.deepEqual(a.sources, b.sources);
});

test("split: stable per document id and close to the requested fraction", () => {
  let val = 0;
  for (let i = 0; i < 20000; i++) if (isValidationDocument(`doc-${i}`, 0.1)) val++;
  assert.ok(val > 1800 && val < 2200, `${val} of 20000`);
  assert.equal(isValidationDocument("brown/ca01", 0.5), isValidationDocument("brown/ca01", 0.5));
  assert.equal(isValidationDocument("x", 0), false);
});

test("JSONL: ids, and errors naming the line", async () => {
  const good = join(root, "c.jsonl");
  writeFileSync(good, '{"text": "one", "id": 7}\n\n{"text": "two"}\n');
  const docs = [];
  for await (const d of readCorpus({ kind: "jsonl", path: good })) docs.push(d);
  assert.deepEqual(
    docs.map((d) => [d.id, d.text]),
    [
      ["c.jsonl:7", "one"],
      ["c.jsonl:3", "two"],
    ],
  );
  const bad = join(root, "bad.jsonl");
  writeFileSync(bad, '{"text": "ok"}\n{"text": \n');
  await assert.rejects(
    async () => {
      for await (const _ of readCorpus({ kind: "jsonl", path: bad })) void _;
    },
    (e: Error) => e instanceof FormatError && /bad\.jsonl:2: not valid JSON/.test(e.message),
  );
  writeFileSync(bad, '{"text": "ok"}\n{"body": "x"}\n');
  await assert.rejects(async () => {
    for await (const _ of readCorpus({ kind: "jsonl", path: bad })) void _;
  }, /bad\.jsonl:2: no string "text" field/);
});

test("existing output needs --force; a BPE run trains, saves and records its tokenizer", async () => {
  const out = join(root, "bpe");
  const jsonl = join(root, "small.jsonl");
  writeFileSync(
    jsonl,
    ["alpha beta gamma", "beta gamma delta", "gamma delta alpha"]
      .map((t) => JSON.stringify({ text: t }))
      .join("\n"),
  );
  const m = await buildShards({
    sources: [{ kind: "jsonl", path: jsonl }],
    out,
    tokenizer: { bpe: 300 },
    valFraction: 0,
  });
  assert.equal(m.tokenizer.kind, "bpe");
  assert.equal(m.splits.val.tokens, 0);
  assert.equal(m.splits.val.shards.length, 0);
  await assert.rejects(
    buildShards({ sources: [{ kind: "jsonl", path: jsonl }], out, tokenizer: "bytes" }),
    /exists/,
  );
  const again = await buildShards({
    sources: [{ kind: "jsonl", path: jsonl }],
    out,
    tokenizer: "bytes",
    force: true,
  });
  assert.equal(again.tokenizer.kind, "bytes");
  assert.equal(readManifest(out).tokenizer.kind, "bytes");
  assert.ok(!existsSync(`${out}.partial-${process.pid}`));
});
