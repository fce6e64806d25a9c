/**
 * Where a bench run's CPU went, from /proc: the whole machine's busy seconds, this process's, and
 * each local-stack service's. On two shared cores the emulators' share decides how fast any tool
 * can go, so a tool that costs them less per object is faster even at equal client CPU.
 */
import { readFileSync } from 'node:fs';
import { servicePid, type ServiceName } from '../src/dev/local-stack.js';

/** Linux reports process and machine times in USER_HZ ticks, 100 a second on every platform it ships. */
const TICKS_PER_SECOND = 100;
const SERVICES = ['s3', 'gcs', 'temporal'] as const satisfies readonly ServiceName[];

interface Snapshot {
  busy: number;
  self: number;
  services: Record<(typeof SERVICES)[number], number>;
}

function machineBusyTicks(): number {
  // cpu user nice system idle iowait irq softirq steal ...: busy is everything but idle and iowait.
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return total - fields[3]! - fields[4]!;
}

function processTicks(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    // After the command's closing parenthesis: state is field 3, utime 14 and stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return 0;
  }
}

function snapshot(): Snapshot {
  const usage = process.cpuUsage();
  return {
    busy: machineBusyTicks() / TICKS_PER_SECOND,
    self: (usage.user + usage.system) / 1e6,
    services: Object.fromEntries(SERVICES.map((s) => [s, processTicks(servicePid(s)) / TICKS_PER_SECOND])) as Snapshot['services'],
  };
}

export type CpuSeconds = Record<'machine' | 'bench_process' | 'other' | (typeof SERVICES)[number], number>;

/** Starts counting; the function it returns gives the CPU seconds spent since. */
export function countCpu(): () => CpuSeconds {
  const start = snapshot();
  return () => {
    const end = snapshot();
    const round = (x: number) => Number(x.toFixed(1));
    const services = Object.fromEntries(SERVICES.map((s) => [s, round(end.services[s] - start.services[s])])) as Snapshot['services'];
    const machine = end.busy - start.busy;
    const self = end.self - start.self;
    const named = self + SERVICES.reduce((n, s) => n + services[s], 0);
    // A child tool (rclone), the kernel's interrupts and anything else running.
    return { machine: round(machine), bench_process: round(self), ...services, other: round(Math.max(0, machine - named)) };
  };
}
