// The machine footer: what the numbers were measured on.
import os from 'node:os'

export interface MachineInfo {
  cpu: string
  cores: number
  node: string
  os: string
  memory_gb: number
  load_average_start: number[]
  load_average_end?: number[]
  date: string
  command: string
}

export function machineInfo (command: string): MachineInfo {
  const cpus = os.cpus()
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    memory_gb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    load_average_start: os.loadavg().map((x) => Math.round(x * 100) / 100),
    date: new Date().toISOString(),
    command,
  }
}

export function loadAverage (): number[] {
  return os.loadavg().map((x) => Math.round(x * 100) / 100)
}

export function machineFooter (m: MachineInfo): string {
  const la = (xs?: number[]) => (xs ?? []).map((x) => x.toFixed(2)).join(' ')
  return `${m.cpu} × ${m.cores} cores · node ${m.node} · ${m.os} · ${m.memory_gb} GiB · load average ${la(m.load_average_start)} (start)` +
    (m.load_average_end ? ` → ${la(m.load_average_end)} (end)` : '') + ` · ${m.date}`
}
