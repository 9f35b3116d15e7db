// Cheap check (Linux, Node only) for the Vulkan loader before Dawn tries it: Dawn prints "Couldn't
// load Vulkan" on stderr, which we cannot silence, when libvulkan.so.1 is missing. Looks where
// dlopen looks: LD_LIBRARY_PATH, /etc/ld.so.cache, the default and multiarch library dirs. Answers
// "present" whenever unsure (other OSes, no readable cache), so a real GPU is never skipped.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const LIB = "libvulkan.so.1";
const DEFAULT_DIRS = [
  "/lib",
  "/usr/lib",
  "/lib64",
  "/usr/lib64",
  "/usr/local/lib",
  "/lib/x86_64-linux-gnu",
  "/usr/lib/x86_64-linux-gnu",
  "/lib/aarch64-linux-gnu",
  "/usr/lib/aarch64-linux-gnu",
];

export interface VulkanProbeOptions {
  platform?: string;
  ldLibraryPath?: string;
  dirs?: readonly string[];
  cachePath?: string;
}

/** false only when, on Linux, no libvulkan.so.1 is found and the ld.so cache was read. */
export function vulkanLoaderPresent(o: VulkanProbeOptions = {}): boolean {
  if ((o.platform ?? process.platform) !== "linux") return true;
  const fromEnv = (o.ldLibraryPath ?? process.env.LD_LIBRARY_PATH ?? "").split(":").filter(Boolean);
  if ([...fromEnv, ...(o.dirs ?? DEFAULT_DIRS)].some((d) => existsSync(join(d, LIB)))) return true;
  try {
    return readFileSync(o.cachePath ?? "/etc/ld.so.cache").includes(LIB);
  } catch {
    return true;
  }
}
