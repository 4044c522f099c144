import { cpus, loadavg, totalmem, release } from 'node:os'
import { mb } from './stats.js'

/** One line naming the machine and the moment, printed at the top of every bench output. */
export function machineLine (): string {
  const cpu = cpus()
  const load = loadavg().map((value) => value.toFixed(2)).join(' ')
  return `${new Date().toISOString()} · ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'} · ${mb(totalmem())} MB RAM · Linux ${release()} · Node ${process.version} · load average ${load}`
}
