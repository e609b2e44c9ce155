import { randomBytes } from "node:crypto";
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync, type Stats } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { CodedError } from "./diagnostics/diagnostic.ts";
import { fileSystemReason } from "./diagnostics/file-system.ts";

/**
 * Writes beside the target, then renames over it: a failure never leaves a
 * half-written file. Every failure is a CodedError (E008) naming the path, and
 * a target that exists but is not a regular file (a directory, a FIFO, a
 * device, anything under /proc) is refused before anything is written.
 */
export function writeFileAtomically(file: string, text: string | Uint8Array): void {
  const existing = statOrNull(file);
  if (existing && !existing.isFile()) throw new CodedError("cannotWrite", file, existing.isDirectory() ? "it is a directory" : "it is not a regular file");
  makeDirectory(dirname(file), file);
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    writeFileSync(temporary, text, { flag: "wx" });
    renameSync(temporary, file);
  } catch (e) {
    rmSync(temporary, { force: true });
    throw new CodedError("cannotWrite", file, fileSystemReason(e));
  }
}

/**
 * `mkdir -p`, one component at a time from the nearest existing ancestor.
 * Node's recursive mkdirSync loops forever on some paths that can never be
 * created (under /proc); this stops at the first component that fails.
 */
function makeDirectory(directory: string, target: string): void {
  const missing: string[] = [];
  let at = resolve(directory);
  for (let stat = statOrNull(at); !stat; stat = statOrNull(at)) {
    missing.push(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  const ancestor = statOrNull(at);
  if (ancestor && !ancestor.isDirectory()) throw new CodedError("cannotWrite", target, `${at} is not a directory`);
  for (const path of missing.reverse()) {
    try {
      mkdirSync(path);
    } catch (e) {
      throw new CodedError("cannotWrite", target, `cannot create the folder ${path}: ${fileSystemReason(e)}`);
    }
  }
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}
