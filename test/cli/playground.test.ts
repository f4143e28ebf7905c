import { request } from "node:http";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { playgroundCommand } from "../../compiler/cli/commands/playground.js";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) },
    out,
    err,
  };
}

/** A GET with the path sent as written (fetch would fold `..` away before sending). */
function get(url: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path, method: "GET" }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("archc playground", () => {
  it("serves the built page on 127.0.0.1, prints its URL, and nothing outside the folder", async () => {
    const c = capture();
    let stop!: () => void;
    const until = new Promise<void>((r) => (stop = r));
    const done = playgroundCommand(c.io, { port: "0", until });
    await expect.poll(() => c.out.length, { timeout: 120_000 }).toBe(1);
    const url = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(c.out[0]!)![1]!;
    const page = await get(url, "/");
    expect(page.status).toBe(200);
    expect(page.body).toContain("archc playground");
    expect((await get(url, "/assets/main.js")).status).toBe(200);
    for (const bad of ["/../package.json", "/%2e%2e/package.json", "/assets/../../package.json"])
      expect((await get(url, bad)).status).toBe(404);
    expect((await get(url, "/%zz")).status).toBe(400);
    stop();
    expect(await done).toBe(0);
  });

  it("refuses a bad port as usage (2) and a port in use as an input problem (1)", async () => {
    const c = capture();
    expect(await playgroundCommand(c.io, { port: "http" })).toBe(2);
    expect(c.err.join("")).toContain("--port must be an integer of at least 0, not 'http'");
    expect(await playgroundCommand(c.io, { port: "70000" })).toBe(2);
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
    const port = (busy.address() as { port: number }).port;
    const d = capture();
    expect(await playgroundCommand(d.io, { port: String(port) })).toBe(1);
    expect(d.err.join("")).toContain(`port ${port} is in use; pass --port 0`);
    busy.close();
  });
});
