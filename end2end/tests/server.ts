// Another release server for a test that needs settings of its own. `cargo xtask test` passes
// the binary it built in TANDEM_BIN; the server binds a free port and prints
// `listening on http://ADDR`, which is read here (no port is picked and handed over).
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export type Tandem = {
  url: string;
  /** Runs an operator command (`tandem user admin NAME`) against this server's data. */
  command(args: string[]): void;
  stop(): Promise<void>;
};

export async function startTandem(env: Record<string, string>): Promise<Tandem> {
  const bin = process.env.TANDEM_BIN;
  if (!bin) throw new Error("TANDEM_BIN is not set (`cargo xtask test` sets it)");
  const data = fs.mkdtempSync(path.join(os.tmpdir(), "tandem-e2e-"));
  const child = spawn(bin, [], {
    env: {
      ...process.env,
      TANDEM_BIND: "127.0.0.1:0",
      TANDEM_DATA_DIR: data,
      TANDEM_LOG: "warn",
      TANDEM_SIGNUPS_PER_IP_PER_HOUR: "100000",
      ...env,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error("tandem did not report its address in 30 s")), 30_000);
    // Keeps reading after the address, so the server never blocks on a full pipe.
    child.stdout!.on("data", (chunk) => {
      seen += chunk;
      const found = seen.match(/listening on (\S+)/);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`tandem exited (${code}) before listening`));
    });
  });
  return {
    url,
    command(args: string[]) {
      const done = spawnSync(bin, args, {
        env: { ...process.env, TANDEM_DATA_DIR: data, TANDEM_LOG: "warn", ...env },
        encoding: "utf8",
      });
      if (done.status !== 0) throw new Error(`tandem ${args.join(" ")} failed: ${done.stderr}`);
    },
    async stop() {
      child.kill("SIGTERM");
      await exited;
      fs.rmSync(data, { recursive: true, force: true });
    },
  };
}
