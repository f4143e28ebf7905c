import { spawnSync } from "node:child_process";
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers.js";

/**
 * archc reads only what a spec may name and writes only where it was asked to. Each case was
 * reproduced against the old code first: it read /etc/passwd through a link, grew to gigabytes
 * on /dev/zero, blocked on a FIFO, or exited 3.
 */
let dir = "";
const cwd = process.cwd();
const spec = "network n {\n  input 8x8x3\n  conv 1x1 4\n}\n";
const secret = "root:x:0:0:SECRET-LINE";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "archc-files-"));
  mkdirSync(join(dir, "spec"));
  mkdirSync(join(dir, "outside"));
  writeFileSync(join(dir, "outside", "passwd.arch"), `${secret}\n`);
  process.chdir(join(dir, "spec"));
});
afterAll(() => {
  process.chdir(cwd);
  spawnSync("chattr", ["-i", join(dir, "spec", "locked")]);
  rmSync(dir, { recursive: true, force: true });
});

function importing(name: string, target: string): string {
  writeFileSync(`${name}.arch`, `import "./${target}"\n${spec}`);
  return `${name}.arch`;
}

describe("imports: only regular files inside the spec's folder or the stdlib", () => {
  it("a symlink that leads outside the folder is refused, and its text is never shown", async () => {
    symlinkSync(join(dir, "outside", "passwd.arch"), "inner.arch");
    const r = await runCli("check", importing("via_link", "inner"));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error[E0202]");
    expect(r.stderr).toContain("leads outside the spec's folder");
    expect(r.stderr).not.toContain("SECRET");
  });

  it("a symlink to /dev/zero is refused at once (as outside, and as a root spec: not regular)", async () => {
    symlinkSync("/dev/zero", "zero.arch");
    const viaImport = await runCli("check", importing("via_zero", "zero"));
    expect(viaImport.code).toBe(1);
    expect(viaImport.stderr).toContain("error[E0202]");
    const root = await runCli("check", "zero.arch");
    expect(root.code).toBe(1);
    expect(root.stderr).toContain("it is a device, not a regular file");
  });

  it("a FIFO is refused without blocking, as an import and as the spec itself", async () => {
    expect(spawnSync("mkfifo", ["pipe.arch"]).status).toBe(0);
    const viaImport = await runCli("check", importing("via_pipe", "pipe"));
    expect(viaImport.code).toBe(1);
    expect(viaImport.stderr).toContain(
      'cannot read import "./pipe": it is a named pipe (FIFO), not a regular file',
    );
    const root = await runCli("summary", "pipe.arch");
    expect(root.code).toBe(1);
    expect(root.stderr).toContain("error[E0105]");
  });

  it("a folder is refused", async () => {
    mkdirSync("folder.arch");
    const r = await runCli("check", importing("via_folder", "folder"));
    expect(r.stderr).toContain("it is a folder, not a regular file");
    expect(r.code).toBe(1);
  });

  it("a symlink inside the folder, to a file inside it, is fine", async () => {
    writeFileSync("real.arch", "block b() {\n  relu\n}\n");
    symlinkSync("real.arch", "alias.arch");
    const r = await runCli("check", importing("via_alias", "alias"));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });
});

describe("-o: problems are usage errors naming the path, found before any work", () => {
  // The spec does not elaborate: exit 2 rather than 1 shows the path was checked first.
  const broken = "network n {\n  input 8x8x3\n  conv 1x1 unknown\n}\n";
  const cases: [string, string[], string][] = [
    ["compile into a folder", ["compile", "broken.arch", "-o", "outdir"], "outdir is a folder"],
    ["compile under a file", ["compile", "broken.arch", "-o", "afile/x.json"], "is a file, so"],
    [
      "graph into /proc",
      ["graph", "broken.arch", "-o", "/proc/archc.svg"],
      "cannot write in /proc",
    ],
    ["graph onto a device", ["graph", "broken.arch", "-o", "/dev/null"], "not a regular file"],
    ["sweep -o a file", ["sweep", "broken.arch", "-o", "afile"], "afile is a file"],
    ["sweep --plot a folder", ["sweep", "broken.arch", "--plot", "outdir"], "outdir is a folder"],
  ];
  for (const [name, argv, says] of cases) {
    it(name, async () => {
      writeFileSync("broken.arch", broken);
      mkdirSync("outdir", { recursive: true });
      writeFileSync("afile", "x");
      const r = await runCli(...argv);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(says);
      expect(r.stderr).toContain(argv[argv.length - 1]!);
      expect(r.stderr).not.toContain("internal error");
    });
  }
});

describe("fmt writes as an editor saves", () => {
  const messy = "network  n {\n input 8x8x3\n}\n";

  it("keeps the file's mode", async () => {
    writeFileSync("mode.arch", messy);
    chmodSync("mode.arch", 0o640);
    const r = await runCli("fmt", "mode.arch");
    expect(r.code).toBe(0);
    expect(readFileSync("mode.arch", "utf8")).not.toBe(messy);
    expect(statSync("mode.arch").mode & 0o777).toBe(0o640);
  });

  it("writes through a symlink: the link stays a link, its target is formatted", async () => {
    writeFileSync("target.arch", messy);
    symlinkSync("target.arch", "link.arch");
    const r = await runCli("fmt", "link.arch");
    expect(r.code).toBe(0);
    expect(lstatSync("link.arch").isSymbolicLink()).toBe(true);
    expect(readlinkSync("link.arch")).toBe("target.arch");
    expect(readFileSync("target.arch", "utf8")).toBe("network n {\n  input 8x8x3\n}\n");
  });

  it("refuses a read-only file, naming it, and leaves it as it was", async () => {
    writeFileSync("ro.arch", messy);
    chmodSync("ro.arch", 0o444);
    const r = await runCli("fmt", "ro.arch");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("ro.arch: not formatted: it is read-only");
    expect(readFileSync("ro.arch", "utf8")).toBe(messy);
    expect(statSync("ro.arch").mode & 0o777).toBe(0o444);
  });

  it("reports a folder it cannot write in, naming it (exit 1, not 3)", async () => {
    mkdirSync("locked");
    writeFileSync(join("locked", "a.arch"), messy);
    // Root writes anywhere a mode allows nothing; an immutable folder stops root too.
    const root = process.getuid?.() === 0;
    if (root) expect(spawnSync("chattr", ["+i", "locked"]).status).toBe(0);
    else chmodSync("locked", 0o555);
    try {
      const r = await runCli("fmt", join("locked", "a.arch"));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/locked\/a\.arch: not formatted: cannot write in .*locked/);
      expect(readFileSync(join("locked", "a.arch"), "utf8")).toBe(messy);
    } finally {
      if (root) spawnSync("chattr", ["-i", "locked"]);
      else chmodSync("locked", 0o755);
    }
  });

  it("refuses a FIFO instead of blocking on it", async () => {
    expect(spawnSync("mkfifo", ["fmt_pipe.arch"]).status).toBe(0);
    const r = await runCli("fmt", "fmt_pipe.arch");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("named pipe");
  });
});
