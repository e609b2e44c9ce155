// Reads a spec file in either front end's syntax, chosen by its extension.
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { CodedError, diagnostic } from "../diagnostics/diagnostic.ts";
import { fileSystemReason } from "../diagnostics/file-system.ts";
import type { SpecAst } from "./ast.ts";
import { parseDsl, type ParseResult } from "./dsl.ts";
import { parseJsonSpec } from "./json.ts";

export interface LoadedSpec extends ParseResult<SpecAst> {
  readonly file: string;
  /** The file's text (without a byte-order mark), for diagnostics with a source excerpt; null if unreadable. */
  readonly text: string | null;
}

export type SpecFormat = "lstm" | "json";

/** The largest spec file lstmc reads: far above any real cell, far below what would make parsing slow. */
export const MAX_SPEC_BYTES = 4 * 1024 * 1024;

export function formatOf(file: string): SpecFormat {
  return file.toLowerCase().endsWith(".json") ? "json" : "lstm";
}

/** Both front ends accept a leading byte-order mark, and neither sees it. */
export function withoutByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export function parseSpecText(text: string, file: string, format: SpecFormat = formatOf(file)): ParseResult<SpecAst> {
  const source = withoutByteOrderMark(text);
  if (format === "json") return parseJsonSpec(source, file);
  return parseDsl(source, file);
}

/**
 * Reads a whole regular file of at most `maxBytes` as UTF-8. Opening without
 * blocking and checking the kind first means a FIFO or a device (/dev/zero)
 * is refused at once instead of blocking or reading forever. Every failure is
 * a CodedError naming the path.
 */
export function readTextFile(file: string, maxBytes: number): string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new CodedError("cannotRead", file, fileSystemReason(e));
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new CodedError("notARegularFile", file);
    if (stat.size > maxBytes) throw new CodedError("fileTooLarge", file, stat.size, maxBytes);
    // Read one byte more than allowed: files in /proc report size 0 and may grow.
    const buffer = Buffer.alloc(Math.max(stat.size, 0) + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) break;
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    if (length > stat.size) return readGrowing(fd, file, buffer.subarray(0, length), maxBytes);
    return buffer.subarray(0, length).toString("utf8");
  } catch (e) {
    if (e instanceof CodedError) throw e;
    throw new CodedError("cannotRead", file, fileSystemReason(e));
  } finally {
    closeSync(fd);
  }
}

/** The rest of a file whose size was not known up front (procfs), up to the limit. */
function readGrowing(fd: number, file: string, start: Buffer, maxBytes: number): string {
  const chunks = [start];
  let total = start.length;
  const chunk = Buffer.alloc(64 * 1024);
  for (;;) {
    const read = readSync(fd, chunk, 0, chunk.length, null);
    if (read === 0) break;
    total += read;
    if (total > maxBytes) throw new CodedError("fileTooLarge", file, `more than ${maxBytes}`, maxBytes);
    chunks.push(Buffer.from(chunk.subarray(0, read)));
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function loadSpecFile(file: string): LoadedSpec {
  let text: string;
  try {
    text = withoutByteOrderMark(readTextFile(file, MAX_SPEC_BYTES));
  } catch (e) {
    if (!(e instanceof CodedError)) throw e;
    const at = { file, line: 1, column: 1, endLine: 1, endColumn: 1 };
    return { file, text: null, value: null, diagnostics: [diagnostic(e.id, at, ...e.args)] };
  }
  return { file, text, ...parseSpecText(text, file) };
}
