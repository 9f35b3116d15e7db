#!/usr/bin/env node
// The `crosslayer` command line: a thin adapter over the library API. Each command lives in
// commands/<name>.ts and registers itself here; no model math in this folder.
import { Command } from "commander";
import { CrosslayerError } from "../errors.js";
import { registerBench } from "./commands/bench.js";
import { registerData } from "./commands/data.js";
import { registerDemo } from "./commands/demo.js";
import { registerDoctor } from "./commands/doctor.js";
import { registerGenerate } from "./commands/generate.js";
import { registerInspect } from "./commands/inspect.js";
import { registerPlan } from "./commands/plan.js";
import { registerReport } from "./commands/report.js";
import { registerSweep } from "./commands/sweep.js";
import { registerTrain } from "./commands/train.js";

const program = new Command();
program
  .name("crosslayer")
  .description(
    "Transformer LMs whose KV cache is shrunk by sharing K/V across layers (CLA) and heads (MQA/GQA).\n" +
      "Design configs, account their memory, train them, compare them, serve them.",
  )
  .version("0.1.0")
  .showHelpAfterError("(run with --help for usage)");

registerDemo(program);
registerDoctor(program);
registerGenerate(program);
registerBench(program);
registerData(program);
registerInspect(program);
registerPlan(program);
registerSweep(program);
registerReport(program);
registerTrain(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof CrosslayerError) {
    process.stderr.write(`crosslayer: ${e.message}\n`);
    process.exit(2);
  }
  throw e;
});
