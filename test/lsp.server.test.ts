// `lstmc lsp` driven as an editor drives it: a scripted client speaking LSP
// (JSON-RPC with Content-Length framing) to the real command over its stdin
// and stdout.
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import {
  CompletionRequest,
  DefinitionRequest,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  RegistrationRequest,
  type ClientCapabilities,
  type Registration,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  HoverRequest,
  InitializedNotification,
  InitializeRequest,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  createProtocolConnection,
  type CompletionItem,
  type Hover,
  type Location,
  type Position,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
} from "vscode-languageserver-protocol/node";
import { LSTMC } from "./helpers/cli.ts";

const ROOT = join(import.meta.dirname, "..");
const GRU = readFileSync(join(ROOT, "specs", "gru.lstm"), "utf8");
const URI = "file:///work/cells/gru.lstm";

interface Session {
  readonly child: ChildProcess;
  readonly connection: ProtocolConnection;
  /** What the server asked the client to register (file watching). */
  readonly registrations: Registration[];
  /** Resolves with the next diagnostics the server publishes. */
  nextDiagnostics(): Promise<PublishDiagnosticsParams>;
}

const sessions: Session[] = [];

async function startSession(args: string[], capabilities: ClientCapabilities = {}): Promise<Session> {
  const child = spawn(process.execPath, [LSTMC, "lsp", ...args], { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] });
  const connection = createProtocolConnection(child.stdout!, child.stdin!);
  const waiting: ((p: PublishDiagnosticsParams) => void)[] = [];
  connection.onNotification(PublishDiagnosticsNotification.type, (params) => waiting.shift()?.(params));
  const registrations: Registration[] = [];
  connection.onRequest(RegistrationRequest.type, (params) => void registrations.push(...params.registrations));
  connection.listen();
  const session = { child, connection, registrations, nextDiagnostics: () => new Promise<PublishDiagnosticsParams>((resolve) => waiting.push(resolve)) };
  sessions.push(session);
  const init = await connection.sendRequest(InitializeRequest.type, { processId: process.pid, rootUri: null, capabilities });
  expect(init.capabilities).toMatchObject({ hoverProvider: true, definitionProvider: true, completionProvider: {} });
  await connection.sendNotification(InitializedNotification.type, {});
  return session;
}

async function openGru(session: Session, text = GRU): Promise<PublishDiagnosticsParams> {
  const diagnostics = session.nextDiagnostics();
  await session.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri: URI, languageId: "lstm", version: 1, text } });
  return diagnostics;
}

/** The 0-based position of the `occurrence`-th `needle` in `text`, plus `offset` characters. */
function positionOf(text: string, needle: string, occurrence = 1, offset = 0): Position {
  let index = -1;
  for (let i = 0; i < occurrence; i++) index = text.indexOf(needle, index + 1);
  if (index < 0) throw new Error(`'${needle}' not found`);
  const before = text.slice(0, index + offset).split("\n");
  return { line: before.length - 1, character: before.at(-1)!.length };
}

function exitCode(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on("exit", (code) => resolve(code))));
}

afterEach(() => {
  for (const s of sessions.splice(0)) {
    s.connection.dispose();
    s.child.kill();
  }
});

describe("lstmc lsp", () => {
  it("publishes diagnostics with line and column as the document changes", async () => {
    const session = await startSession([]);
    const broken = GRU.replace("U_z @ h + b_z", "U_z @ hh + b_z");
    const first = await openGru(session, broken);
    expect(first.uri).toBe(URI);
    const at = positionOf(broken, "hh");
    expect(first.diagnostics).toMatchObject([{ code: "E101", severity: 1, source: "lstmc", range: { start: at, end: { line: at.line, character: at.character + 2 } } }]);
    expect(first.diagnostics[0]!.message).toContain("hh");

    const fixed = session.nextDiagnostics();
    const start = positionOf(broken, "hh");
    await session.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri: URI, version: 2 },
      contentChanges: [{ range: { start, end: { line: start.line, character: start.character + 2 } }, text: "h" }],
    });
    expect((await fixed).diagnostics).toEqual([]);
  });

  it("shows the shape of a name on hover, with the numbers at the default sizes", async () => {
    const session = await startSession([]);
    await openGru(session);
    const hover = (position: Position) => session.connection.sendRequest(HoverRequest.type, { textDocument: { uri: URI }, position }) as Promise<Hover | null>;
    const value = (h: Hover | null) => (h?.contents as { value: string } | undefined)?.value;
    expect(value(await hover(positionOf(GRU, "h_tilde", 2, 3)))).toBe("intermediate `h_tilde`: [H] = [16]");
    expect(value(await hover(positionOf(GRU, "W_z @ x", 1)))).toBe("param `W_z`: [H, I] = [16, 8]");
    expect(value(await hover(positionOf(GRU, "size I", 1, 5)))).toBe("size `I` = 8");
    expect(value(await hover(positionOf(GRU, "tanh(W_h", 1)))).toBe("`tanh`: elementwise function");
    expect(await hover(positionOf(GRU, "~ glorot", 1))).toBeNull();
  });

  it("goes to the declaration of a parameter and of an intermediate", async () => {
    const session = await startSession([]);
    await openGru(session);
    const definition = (position: Position) =>
      session.connection.sendRequest(DefinitionRequest.type, { textDocument: { uri: URI }, position }) as Promise<Location | null>;
    const param = await definition(positionOf(GRU, "U_z @ h", 1, 1));
    expect(param?.uri).toBe(URI);
    expect(param?.range.start).toEqual(positionOf(GRU, "param U_z"));
    const intermediate = await definition(positionOf(GRU, "h_tilde", 2));
    expect(intermediate?.range).toEqual({ start: positionOf(GRU, "h_tilde = "), end: positionOf(GRU, "h_tilde = ", 1, 7) });
  });

  it("completes the spec's names and the functions, and keeps the names while a line does not parse", async () => {
    const session = await startSession([]);
    await openGru(session);
    const complete = async () =>
      ((await session.connection.sendRequest(CompletionRequest.type, { textDocument: { uri: URI }, position: { line: 0, character: 0 } })) as CompletionItem[]).map((c) => c.label);
    const labels = await complete();
    for (const name of ["I", "H", "x", "h", "W_z", "b_h", "z", "r", "h_tilde", "sigmoid", "tanh", "σ"]) expect(labels).toContain(name);
    expect(labels.filter((l) => l === "h")).toHaveLength(1);

    const broken = session.nextDiagnostics();
    await session.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri: URI, version: 2 },
      contentChanges: [{ text: GRU.replace("z = σ(", "z = σ((") }],
    });
    expect((await broken).diagnostics[0]?.code).toBe("E002");
    expect(await complete()).toEqual(labels);
  });

  it("accepts --stdio and exits 0 after shutdown and exit", async () => {
    const session = await startSession(["--stdio"]);
    await session.connection.sendRequest(ShutdownRequest.type);
    const exited = exitCode(session.child);
    await session.connection.sendNotification(ExitNotification.type);
    expect(await exited).toBe(0);
  });
});

// A model document: its cell files are read from the open documents, else the
// disk; an error in one shows at the layer that names it.
describe("lstmc lsp on models", () => {
  const BILSTM = readFileSync(join(ROOT, "specs", "bilstm.lstm"), "utf8");
  const DEPTH_GATED = readFileSync(join(ROOT, "specs", "depth_gated_lstm.lstm"), "utf8");
  const LSTM = readFileSync(join(ROOT, "specs", "lstm.lstm"), "utf8");
  const BROKEN_LSTM = LSTM.replace("U_f @ h", "U_f @ hh");

  /** A folder holding the library's bilstm, depth-gated LSTM and the cells they use, `lstm.lstm` as given. */
  function folder(lstm = LSTM): { readonly uri: (file: string) => string } {
    const dir = mkdtempSync(join(tmpdir(), "lstmc-lsp-model-"));
    for (const file of ["bilstm.lstm", "depth_gated_lstm.lstm", "peephole.lstm"]) copyFileSync(join(ROOT, "specs", file), join(dir, file));
    writeFileSync(join(dir, "lstm.lstm"), lstm);
    return { uri: (file) => pathToFileURL(join(dir, file)).href };
  }

  async function open(session: Session, uri: string, text: string): Promise<PublishDiagnosticsParams> {
    const diagnostics = session.nextDiagnostics();
    await session.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: "lstm", version: 1, text } });
    return diagnostics;
  }

  const cellRefRange = (text: string) => ({ start: positionOf(text, "lstm.lstm"), end: positionOf(text, "lstm.lstm", 1, "lstm.lstm".length) });

  it("shows an error in a cell file at the layer that names it, with the cell file's place", async () => {
    const dir = folder(BROKEN_LSTM);
    const session = await startSession([]);
    const published = await open(session, dir.uri("bilstm.lstm"), BILSTM);
    const at = positionOf(BROKEN_LSTM, "hh");
    expect(published.diagnostics).toMatchObject([{ code: "E101", severity: 1, range: cellRefRange(BILSTM) }]);
    expect(published.diagnostics[0]!.message).toMatch(new RegExp(`^lstm\\.lstm:${at.line + 1}:${at.character + 1}: unknown name 'hh'`));
    expect(published.diagnostics[0]!.relatedInformation).toMatchObject([{ location: { uri: dir.uri("lstm.lstm"), range: { start: at } } }]);
    // A client that cannot watch files is not asked to.
    expect(session.registrations).toEqual([]);
  });

  it("checks a model again when an open cell file it uses changes, reading the unsaved text", async () => {
    const dir = folder();
    const session = await startSession([]);
    expect((await open(session, dir.uri("bilstm.lstm"), BILSTM)).diagnostics).toEqual([]);
    // Opening the cell file checks the model again too: it now reads the editor's text.
    const reopened = [session.nextDiagnostics(), session.nextDiagnostics()];
    await session.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri: dir.uri("lstm.lstm"), languageId: "lstm", version: 1, text: LSTM } });
    expect((await Promise.all(reopened)).map((p) => [p.uri, p.diagnostics])).toEqual([[dir.uri("lstm.lstm"), []], [dir.uri("bilstm.lstm"), []]]);
    const [cell, model] = [session.nextDiagnostics(), session.nextDiagnostics()];
    await session.connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri: dir.uri("lstm.lstm"), version: 2 }, contentChanges: [{ text: BROKEN_LSTM }] });
    expect((await cell).uri).toBe(dir.uri("lstm.lstm"));
    expect((await model).uri).toBe(dir.uri("bilstm.lstm"));
    expect((await model).diagnostics).toMatchObject([{ code: "E101", range: cellRefRange(BILSTM) }]);
  });

  it("checks a model again when a cell file it uses changes on disk, watching spec files where the client can", async () => {
    const dir = folder();
    const session = await startSession([], { workspace: { didChangeWatchedFiles: { dynamicRegistration: true } } });
    expect((await open(session, dir.uri("bilstm.lstm"), BILSTM)).diagnostics).toEqual([]);
    expect(session.registrations).toMatchObject([{ method: "workspace/didChangeWatchedFiles", registerOptions: { watchers: [{ globPattern: "**/*.{lstm,json}" }] } }]);
    writeFileSync(new URL(dir.uri("lstm.lstm")), BROKEN_LSTM);
    const model = session.nextDiagnostics();
    await session.connection.sendNotification(DidChangeWatchedFilesNotification.type, { changes: [{ uri: dir.uri("lstm.lstm"), type: FileChangeType.Changed }] });
    expect((await model).diagnostics).toMatchObject([{ code: "E101", range: cellRefRange(BILSTM) }]);
  });

  it("hovers a model's layers, outputs and sizes, and the names in its own cells", async () => {
    const dir = folder();
    const session = await startSession([]);
    await open(session, dir.uri("bilstm.lstm"), BILSTM);
    await open(session, dir.uri("depth_gated_lstm.lstm"), DEPTH_GATED);
    const hover = async (file: string, position: Position) =>
      ((await session.connection.sendRequest(HoverRequest.type, { textDocument: { uri: dir.uri(file) }, position })) as Hover | null)?.contents as { value: string } | undefined;
    expect((await hover("bilstm.lstm", positionOf(BILSTM, "bwd", 1)))?.value).toBe("layer `bwd`: `lstm` (lstm.lstm), reverse; outputs h [H]");
    expect((await hover("bilstm.lstm", positionOf(BILSTM, "output h", 1, 7)))?.value).toBe("output `h`: [2*H]");
    expect((await hover("bilstm.lstm", positionOf(BILSTM, "size I", 1, 5)))?.value).toBe("size `I` = 8");
    // The h of fwd.h is the layer's, not the model's output h.
    expect((await hover("bilstm.lstm", positionOf(BILSTM, "fwd.h", 1, 4)))?.value).toBe("output `h` of layer `fwd`: [H]");
    expect((await hover("depth_gated_lstm.lstm", positionOf(DEPTH_GATED, "L1.c'", 1, 3)))?.value).toBe("state `c` of layer `L1` (`c'`: after the step): [H] in its cell's sizes");
    expect((await hover("depth_gated_lstm.lstm", positionOf(DEPTH_GATED, "layer L2", 1, 6)))?.value).toBe("layer `L2`: `depth_gated` (this file), forward; outputs h [H]");
    expect((await hover("depth_gated_lstm.lstm", positionOf(DEPTH_GATED, "param W_d", 1, 6)))?.value).toBe("param `W_d`: [H, I] = [16, 16]");
  });

  it("goes from a layer's cell to its file or its block, and from a wire to its layer", async () => {
    const dir = folder();
    const session = await startSession([]);
    await open(session, dir.uri("depth_gated_lstm.lstm"), DEPTH_GATED);
    const definition = (position: Position) => session.connection.sendRequest(DefinitionRequest.type, { textDocument: { uri: dir.uri("depth_gated_lstm.lstm") }, position }) as Promise<Location | null>;
    expect(await definition(positionOf(DEPTH_GATED, "peephole.lstm", 1, 2))).toEqual({ uri: dir.uri("peephole.lstm"), range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } });
    expect((await definition(positionOf(DEPTH_GATED, "= depth_gated", 1, 3)))?.range.start).toEqual(positionOf(DEPTH_GATED, "depth_gated {"));
    expect((await definition(positionOf(DEPTH_GATED, "L1.h")))?.range.start).toEqual(positionOf(DEPTH_GATED, "L1 ="));
  });

  it("completes a model's names and its layers' outputs as wires", async () => {
    const dir = folder();
    const session = await startSession([]);
    await open(session, dir.uri("bilstm.lstm"), BILSTM);
    const items = (await session.connection.sendRequest(CompletionRequest.type, { textDocument: { uri: dir.uri("bilstm.lstm") }, position: { line: 0, character: 0 } })) as CompletionItem[];
    expect(items.map((c) => c.label)).toEqual(["I", "H", "x", "fwd", "bwd", "h", "fwd.h", "bwd.h"]);
  });
});
