// Typed errors of the inference layer. Request problems are ConfigErrors with a machine-readable
// `code` (an HTTP server maps them to 400s); KV-cache misuse (double free, unknown sequence) is a
// KvCacheError: a bug in the caller, never normal back-pressure (that is a result value).
import { ConfigError, CrosslayerError } from "../errors.js";

export type RequestErrorCode =
  | "empty-prompt"
  | "prompt-too-long"
  | "unknown-token"
  | "invalid-sampling"
  | "invalid-request"
  | "cannot-fit"
  | "duplicate-id";

/** A generation request that can never be served as given; the message names the value and the fix. */
export class RequestError extends ConfigError {
  readonly code: RequestErrorCode;
  constructor(code: RequestErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** The KV cache or block pool was used against its contract (a bug in the caller). */
export class KvCacheError extends CrosslayerError {
  override readonly name = "KvCacheError";
}

/** The model produced logits sampling cannot use (NaN, +Infinity, or every token masked). */
export class SamplingError extends CrosslayerError {
  override readonly name = "SamplingError";
}
