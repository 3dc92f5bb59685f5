/**
 * Resource figures of a server process from `/proc`: CPU time (utime + stime
 * of all its threads) and resident memory (current and peak).
 *
 * @module
 */

/** Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU time used so far by a process, user plus system, in microseconds.
 *
 * @example
 * ```ts ignore
 * const before = cpuMicros(pid);
 * // … load …
 * console.log(cpuMicros(pid) - before, "µs of broker CPU");
 * ```
 */
export function cpuMicros(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // the command name may contain spaces and parentheses: fields start after the last ")"
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) * (1_000_000 / CLOCK_TICKS_PER_SECOND);
}

/** Resident memory of a process in bytes. */
export interface MemoryFigures {
  /** Current resident set (VmRSS). */
  rss: number;
  /** Peak resident set since start or the last {@linkcode resetPeakRss} (VmHWM). */
  peak: number;
}

/**
 * Current and peak resident memory of a process.
 *
 * @example
 * ```ts ignore
 * console.log(memory(pid).peak / 2 ** 20, "MiB peak");
 * ```
 */
export function memory(pid: number): MemoryFigures {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return { rss: kibField(status, "VmRSS") * 1024, peak: kibField(status, "VmHWM") * 1024 };
}

/**
 * Resets the peak resident set of a process to its current size (writes 5 to
 * `/proc/<pid>/clear_refs`). Returns false when the kernel refuses.
 *
 * @example
 * ```ts ignore
 * resetPeakRss(pid); // VmHWM now measures this cell only
 * ```
 */
export function resetPeakRss(pid: number): boolean {
  try {
    Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

function kibField(status: string, key: string): number {
  const m = status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"));
  return m === null ? 0 : Number(m[1]);
}
