// CPU backend entry (being written: see the cpu backend helper). Placeholder until it lands.
import type { Backend } from "../backend.js";
import { BackendError } from "../../errors.js";
import type { BackendOptions } from "../registry.js";

export async function createCpuBackend(_opts: BackendOptions = {}): Promise<Backend> {
  throw new BackendError("the cpu backend is not built yet");
}
