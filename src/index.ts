// The public API of crosslayer: the CLI, the HTTP server and the browser playground use only
// what is exported here. Explicit list; nothing re-exported wholesale.
export type {
  Backend,
  BackendInfo,
  BackendName,
  MatmulOptions,
  AttentionOptions,
  AdamWOptions,
} from "./backend/backend.js";
export type { DType, DeviceBuffer, Tensor } from "./backend/tensor.js";
export { view, reshape, slice0, numel, bytesPerElement } from "./backend/tensor.js";
export {
  createBackend,
  createDefaultBackend,
  probeBackends,
  type BackendOptions,
} from "./backend/registry.js";
export { CrosslayerError, ShapeError, ConfigError, BackendError, FormatError } from "./errors.js";
