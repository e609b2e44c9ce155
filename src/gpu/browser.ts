/**
 * WebGPU in a real browser without a GPU: Debian's Chromium, headless, driven
 * by playwright-core, running WebGPU on its bundled SwiftShader Vulkan driver.
 * Install with `bash scripts/install-webgpu-cpu.sh --chromium` (or
 * `apt-get install -y chromium`). See shared/notes/webgpu-on-cpu.md.
 *
 *   await withBrowserPage(dir, async (page, baseUrl) => {
 *     const r = await page.evaluate(`import(${JSON.stringify(baseUrl + "/gen.mjs")}).then(m => m.run())`);
 *   });
 *
 * Env: CHROMIUM_PATH overrides /usr/bin/chromium.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve, sep } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

export const DEFAULT_CHROMIUM = "/usr/bin/chromium";

/** Flags measured to give WebGPU on SwiftShader, headless (see the notes). */
export const CHROMIUM_WEBGPU_ARGS: readonly string[] = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu-sandbox",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--enable-unsafe-webgpu",
  // Pin the software adapter, so a machine with a GPU gives the same results.
  // (Do NOT add --use-angle=swiftshader/vulkan: it makes requestAdapter 0.3-1.6 s.)
  "--use-webgpu-adapter=swiftshader",
];

export class NoChromiumError extends Error {
  override name = "NoChromiumError";
}

/** Path of the Chromium to use, or undefined if it is not installed. */
export function findChromium(): string | undefined {
  const p = process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM;
  return existsSync(p) ? p : undefined;
}

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".htm": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".cjs": "text/javascript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".wgsl": "text/plain; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".bin": "application/octet-stream",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** Served at "/" when the directory has no index.html. */
const BLANK_PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>lstmc webgpu</title></head><body></body></html>`;

export interface StaticServer {
  baseUrl: string;
  server: Server;
  close(): Promise<void>;
}

/** Serve `dir` (read-only, GET/HEAD) on 127.0.0.1 at a free port. */
export async function serveStatic(dir: string): Promise<StaticServer> {
  const root = resolve(dir);
  const server = createServer(async (req, res) => {
    try {
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405).end();
        return;
      }
      const urlPath = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
      let file = normalize(join(root, urlPath));
      if (file !== root && !file.startsWith(root + sep)) {
        res.writeHead(403).end();
        return;
      }
      if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
      let body: Buffer;
      if (existsSync(file)) body = await readFile(file);
      else if (urlPath === "/" || urlPath === "/index.html") body = Buffer.from(BLANK_PAGE);
      else if (urlPath === "/favicon.ico") {
        res.writeHead(204).end(); // keep the browser's automatic request from logging a 404
        return;
      } else {
        res.writeHead(404, { "content-type": "text/plain" }).end(`not found: ${urlPath}`);
        return;
      }
      const type = existsSync(file) ? (MIME[extname(file).toLowerCase()] ?? "application/octet-stream") : MIME[".html"];
      res.writeHead(200, { "content-type": type, "content-length": body.length, "cache-control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain" }).end(String(e));
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections?.();
        server.close(() => ok());
      }),
  };
}

export interface LaunchOptions {
  executablePath?: string;
  extraArgs?: string[];
  /** Per-launch timeout (ms). Default 60 s. */
  timeout?: number;
}

export interface LaunchedChromium {
  context: BrowserContext;
  browser: Browser | null;
  close(): Promise<void>;
}

/** Launch headless Chromium with WebGPU on SwiftShader, in a fresh temporary profile. */
export async function launchChromium(opts: LaunchOptions = {}): Promise<LaunchedChromium> {
  const executablePath = opts.executablePath ?? findChromium();
  if (!executablePath) {
    throw new NoChromiumError(
      `Chromium not found at ${process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM}. ` +
        `Install it with: bash scripts/install-webgpu-cpu.sh --chromium  (Debian: apt-get install -y chromium), ` +
        `or set CHROMIUM_PATH.`,
    );
  }
  // Playwright refuses --user-data-dir in args; a persistent context in a fresh dir gives a clean profile.
  const profile = mkdtempSync(join(tmpdir(), "lstmc-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [...CHROMIUM_WEBGPU_ARGS, ...(opts.extraArgs ?? [])],
    timeout: opts.timeout ?? 60_000,
  });
  return {
    context,
    browser: context.browser(),
    close: async () => {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface PageInfo {
  /** console messages of type error/warning and uncaught page errors, in order. */
  problems: string[];
}

/**
 * Serve `staticDir`, launch Chromium, open `${baseUrl}/` (the dir's index.html,
 * or a blank page), and run `fn(page, baseUrl, info)`. Everything is closed afterwards.
 */
export async function withBrowserPage<T>(
  staticDir: string,
  fn: (page: Page, baseUrl: string, info: PageInfo) => Promise<T>,
  opts: LaunchOptions & { path?: string } = {},
): Promise<T> {
  const srv = await serveStatic(staticDir);
  let launched: LaunchedChromium | undefined;
  try {
    launched = await launchChromium(opts);
    const page = launched.context.pages()[0] ?? (await launched.context.newPage());
    const info: PageInfo = { problems: [] };
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") info.problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => info.problems.push(`pageerror: ${e.message}`));
    await page.goto(`${srv.baseUrl}${opts.path ?? "/"}`);
    return await fn(page, srv.baseUrl, info);
  } finally {
    await launched?.close();
    await srv.close();
  }
}

export interface BrowserAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  features: string[];
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
}

export interface BrowserKernelResult {
  output: number[];
  adapter: BrowserAdapterInfo;
  compileErrors: string[];
  compileWarnings: string[];
  timings: { adapterDeviceMs: number; dispatchMs: number };
}

/*
 * The in-page code is a plain JavaScript string, not a TS function passed to
 * page.evaluate: the TS transpilers (tsx, vitest) may inject helpers such as
 * `__name` into functions, which do not exist inside the page.
 */
const PAGE_ADAPTER_INFO = `async function lstmcAdapterInfo(adapter) {
  const i = adapter.info || {};
  return {
    vendor: i.vendor || "", architecture: i.architecture || "", device: i.device || "",
    description: i.description || "",
    isFallbackAdapter: !!(i.isFallbackAdapter ?? adapter.isFallbackAdapter),
    features: [...adapter.features].sort(),
    subgroupMinSize: i.subgroupMinSize, subgroupMaxSize: i.subgroupMaxSize,
  };
}`;

const PAGE_RUN_KERNEL = `async (args) => {
  ${PAGE_ADAPTER_INFO}
  if (!navigator.gpu) throw new Error("navigator.gpu is missing (not a secure context, or WebGPU disabled)");
  const t0 = performance.now();
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error("navigator.gpu.requestAdapter() returned null (is --enable-unsafe-webgpu set?)");
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
  const t1 = performance.now();
  const module = device.createShaderModule({ code: args.wgsl });
  const ci = await module.getCompilationInfo();
  const fmt = (m) => m.lineNum + ":" + m.linePos + ": " + m.message;
  const compileErrors = ci.messages.filter((m) => m.type === "error").map(fmt);
  const compileWarnings = ci.messages.filter((m) => m.type === "warning").map(fmt);
  const adapterInfo = await lstmcAdapterInfo(adapter);
  if (compileErrors.length) {
    device.destroy();
    return { output: [], adapter: adapterInfo, compileErrors, compileWarnings, timings: { adapterDeviceMs: t1 - t0, dispatchMs: 0 } };
  }
  device.pushErrorScope("validation");
  const pipeline = await device.createComputePipelineAsync({ layout: "auto", compute: { module, entryPoint: args.entryPoint } });
  const U = GPUBufferUsage;
  const pad = (n) => Math.max(16, Math.ceil(n / 16) * 16);
  const buffers = args.inputs.map((a) => {
    const data = new Float32Array(a);
    const b = device.createBuffer({ size: pad(data.byteLength), usage: U.STORAGE | U.COPY_DST | U.COPY_SRC, mappedAtCreation: true });
    new Float32Array(b.getMappedRange()).set(data);
    b.unmap();
    return b;
  });
  const outBytes = args.outputLength * 4;
  const out = device.createBuffer({ size: pad(outBytes), usage: U.STORAGE | U.COPY_SRC });
  const staging = device.createBuffer({ size: pad(outBytes), usage: U.MAP_READ | U.COPY_DST });
  const all = [...buffers, out];
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: all.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(...args.workgroups);
  pass.end();
  enc.copyBufferToBuffer(out, 0, staging, 0, pad(outBytes));
  device.queue.submit([enc.finish()]);
  const err = await device.popErrorScope();
  if (err) throw new Error("WebGPU validation error: " + err.message);
  await staging.mapAsync(GPUMapMode.READ);
  const output = Array.from(new Float32Array(staging.getMappedRange(), 0, args.outputLength));
  staging.unmap();
  const t2 = performance.now();
  device.destroy();
  return { output, adapter: adapterInfo, compileErrors, compileWarnings, timings: { adapterDeviceMs: t1 - t0, dispatchMs: t2 - t1 } };
}`;

/**
 * Run a WGSL compute kernel in the page: Float32Array inputs at @binding(0..k-1)
 * of @group(0), one f32 output of `outputLength` at @binding(k).
 */
export async function runKernelInPage(
  page: Page,
  wgsl: string,
  inputs: Float32Array[],
  outputLength: number,
  workgroups: number | [number, number?, number?],
  entryPoint = "main",
): Promise<BrowserKernelResult> {
  const wg =
    typeof workgroups === "number" ? [workgroups, 1, 1] : [workgroups[0], workgroups[1] ?? 1, workgroups[2] ?? 1];
  const args = { wgsl, entryPoint, inputs: inputs.map((a) => Array.from(a)), outputLength, workgroups: wg };
  return (await page.evaluate(`(${PAGE_RUN_KERNEL})(${JSON.stringify(args)})`)) as BrowserKernelResult;
}

/** The page's WebGPU adapter (null if requestAdapter() gives none). */
export async function browserAdapterInfo(page: Page): Promise<BrowserAdapterInfo | null> {
  return (await page.evaluate(`(async () => {
    ${PAGE_ADAPTER_INFO}
    if (!navigator.gpu) return null;
    const a = await navigator.gpu.requestAdapter();
    return a ? lstmcAdapterInfo(a) : null;
  })()`)) as BrowserAdapterInfo | null;
}
