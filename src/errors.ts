// Typed errors with actionable messages: every message names the offending value and the fix.
// The CLI prints `message` alone (no stack) for these; anything else is a bug and shows its stack.

export class CrosslayerError extends Error {
  override readonly name: string = "CrosslayerError";
}

/** A tensor of the wrong shape, dtype or size reached an op. */
export class ShapeError extends CrosslayerError {
  override readonly name = "ShapeError";
}

/** A user-supplied value (config field, CLI flag, request field) is invalid. */
export class ConfigError extends CrosslayerError {
  override readonly name = "ConfigError";
}

/** A backend cannot run here (no adapter, missing feature, limit exceeded). */
export class BackendError extends CrosslayerError {
  override readonly name = "BackendError";
}

/** A file on disk is missing, truncated or disagrees with another file. */
export class FormatError extends CrosslayerError {
  override readonly name = "FormatError";
}
