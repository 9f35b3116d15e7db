// The public inference API (web-llm-like): an Engine streams GenerationChunks for a
// GenerationRequest (OpenAI-compatible-ish fields, camelCase), cancellable with an AbortSignal.
// `normalizeRequest` turns a request into validated fields or throws RequestError with the value
// and the fix. Implementations: engine.ts (local); a worker/HTTP one would implement the same.
import { RequestError } from "./errors.js";
import { type SamplingParams, validateSamplingParams } from "./sampler.js";
import type { FinishReason } from "./stop.js";

/** Text <-> token ids. The engine needs one for text prompts, stop strings and streamed text. */
export interface TextCodec {
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

export interface GenerationRequest extends SamplingParams {
  /** Defaults to a fresh "req-N". */
  id?: string;
  /** Text prompt (needs the engine's TextCodec); give this or `promptTokens`, not both. */
  prompt?: string;
  promptTokens?: readonly number[];
  /** Tokens to generate at most (default: 128, or what the context has left if less). */
  maxTokens?: number;
  /** Seed of this request's sampler (default 0): equal seeds give equal outputs. */
  seed?: number;
  /** Stop strings (none is emitted). */
  stop?: string | readonly string[];
  /** Token ids that end generation (the engine adds the model's EOS if it knows one). */
  stopTokenIds?: readonly number[];
  signal?: AbortSignal;
}

export type GenerationFinishReason = FinishReason | "cancelled";

export interface GenerationChunk {
  id: string;
  /** Text added by this chunk (empty while a possible stop string is held back). */
  text: string;
  /** Token ids sampled since the previous chunk. */
  tokens: number[];
  /** Set on the last chunk only. */
  finishReason: GenerationFinishReason | null;
  /** On the last chunk: token counts. */
  usage?: { promptTokens: number; completionTokens: number };
}

export interface EngineStats {
  waiting: number;
  running: number;
  freeBlocks: number;
  totalBlocks: number;
  /** Bytes of the KV pools on the backend. */
  kvBytes: number;
  kvBytesPerToken: number;
  /** Sequences preempted (blocks taken back, recomputed later) since the engine started. */
  preemptions: number;
  /** Greedy decode steps submitted ahead, before the previous step's tokens were read. */
  chainedSteps: number;
}

export interface Engine {
  /** Streams the generation; the last chunk has finishReason set. Invalid requests throw RequestError. */
  generate(req: GenerationRequest): AsyncIterable<GenerationChunk>;
  stats(): EngineStats;
  /** Cancels everything in flight and frees the KV cache. */
  dispose(): void;
}

/** A request with every field checked and defaulted. */
export interface NormalizedRequest {
  id: string;
  promptTokens: number[];
  maxTokens: number;
  sampling: Required<SamplingParams>;
  seed: number;
  stop: string[];
  stopTokenIds: number[];
}

export interface RequestLimits {
  vocabSize: number;
  /** Longest prompt + generation. */
  maxContext: number;
  codec?: TextCodec;
}

let nextId = 0;

/** Validates a request against the model's limits; throws RequestError naming the value and the fix. */
export function normalizeRequest(req: GenerationRequest, limits: RequestLimits): NormalizedRequest {
  const sampling = validateSamplingParams(req);
  const seed = req.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER) {
    throw new RequestError("invalid-sampling", `seed ${seed} is invalid: use an integer in [0, 2^53)`);
  }
  if (req.maxTokens !== undefined && (!Number.isInteger(req.maxTokens) || req.maxTokens < 1)) {
    throw new RequestError("invalid-request", `maxTokens ${req.maxTokens} is invalid: use an integer >= 1`);
  }
  if (req.prompt !== undefined && req.promptTokens !== undefined) {
    throw new RequestError("invalid-request", "give either prompt (text) or promptTokens (ids), not both");
  }
  let promptTokens: number[];
  if (req.promptTokens !== undefined) {
    promptTokens = [...req.promptTokens];
  } else if (req.prompt !== undefined) {
    if (limits.codec === undefined) {
      throw new RequestError(
        "invalid-request",
        "this engine has no tokenizer: send promptTokens instead of prompt",
      );
    }
    promptTokens = req.prompt === "" ? [] : limits.codec.encode(req.prompt);
  } else {
    throw new RequestError(
      "empty-prompt",
      "the request has no prompt: give prompt (text) or promptTokens (ids)",
    );
  }
  if (promptTokens.length === 0)
    throw new RequestError("empty-prompt", "the prompt is empty: give at least one token");
  promptTokens.forEach((t, i) => {
    if (!Number.isInteger(t) || t < 0 || t >= limits.vocabSize) {
      throw new RequestError(
        "unknown-token",
        `promptTokens[${i}] = ${t} is not a token id: the vocabulary is [0, ${limits.vocabSize})`,
      );
    }
  });
  if (promptTokens.length >= limits.maxContext) {
    throw new RequestError(
      "prompt-too-long",
      `the prompt has ${promptTokens.length} tokens but the context is ${limits.maxContext}: ` +
        `shorten it to at most ${limits.maxContext - 1} tokens`,
    );
  }
  // Unset: up to 128 tokens, never past the context (an explicit value past it is refused later).
  const maxTokens = req.maxTokens ?? Math.min(128, limits.maxContext - promptTokens.length);
  const stop = req.stop === undefined ? [] : typeof req.stop === "string" ? [req.stop] : [...req.stop];
  if (stop.length > 0 && limits.codec === undefined) {
    throw new RequestError(
      "invalid-request",
      "stop strings need a tokenizer: use stopTokenIds with this engine",
    );
  }
  const stopTokenIds = [...(req.stopTokenIds ?? [])];
  for (const t of stopTokenIds) {
    if (!Number.isInteger(t) || t < 0 || t >= limits.vocabSize) {
      throw new RequestError(
        "unknown-token",
        `stop token id ${t} is outside the vocabulary [0, ${limits.vocabSize})`,
      );
    }
  }
  return {
    id: req.id ?? `req-${nextId++}`,
    promptTokens,
    maxTokens,
    sampling,
    seed,
    stop,
    stopTokenIds,
  };
}
