// A worker thread of the long-gap experiment: imports the modules the main
// thread compiled, then runs the jobs it is sent, one at a time.
import { parentPort, workerData } from "node:worker_threads";
import { importCells } from "../shared/compile-cell.ts";
import { compileRequest, runJob, type ExperimentConfig, type Job } from "./experiment.ts";

const config = workerData as ExperimentConfig;
const modules = await importCells(compileRequest(config));
parentPort!.on("message", ({ index, job }: { index: number; job: Job }) => {
  parentPort!.postMessage({ index, outcome: runJob(job, config, modules) });
});
