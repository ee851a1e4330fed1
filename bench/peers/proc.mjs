// What the harness reads of a server from outside: its CPU and RSS from /proc, its data folder's
// size on disk. Shared by run.mjs and clients.mjs.
import fs from "node:fs";

const CLK_TCK = 100;

/** CPU seconds (user + system) the process has used. */
export function procStat(pid) {
  // utime and stime are fields 14 and 15; the command name in parentheses may hold spaces.
  const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** Resident memory of the process, kB. */
export function rssKb(pid) {
  const line = fs.readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"));
  return line ? Number(line.split(/\s+/)[1]) : 0;
}

/** Bytes of every file under `dir`, kB. */
export function folderKb(dir) {
  let bytes = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) bytes += fs.statSync(`${e.parentPath ?? e.path}/${e.name}`).size;
  }
  return Math.round(bytes / 1024);
}
