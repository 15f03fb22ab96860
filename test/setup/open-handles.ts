/**
 * What still keeps the process alive after the last test: mocha runs without `exit: true`, so a timer, pool, server,
 * socket or child process a test forgot would hang the run. Instead the run fails after a grace period, naming them.
 */
interface Handle {
  constructor?: { name?: string };
  localAddress?: string;
  localPort?: number;
  remoteAddress?: string;
  remotePort?: number;
  address?: () => unknown;
  spawnargs?: string[];
  pid?: number;
}

function describeHandle(h: Handle): string {
  const kind = h.constructor?.name ?? typeof h;
  if (kind === 'Socket' && h.remotePort)
    return `Socket ${h.localAddress}:${h.localPort} -> ${h.remoteAddress}:${h.remotePort}`;
  if (kind === 'Server') return `Server listening on ${JSON.stringify(h.address?.())}`;
  if (kind === 'ChildProcess') return `ChildProcess ${h.pid} ${h.spawnargs?.join(' ')}`;
  return kind;
}

export function failIfHandlesStayOpen(graceMs: number): void {
  setTimeout(() => {
    const handles = (process as unknown as { _getActiveHandles(): Handle[] })._getActiveHandles();
    const stdio = new Set<unknown>([process.stdin, process.stdout, process.stderr]);
    const described = handles.filter((h) => !stdio.has(h)).map(describeHandle);
    process.stderr.write(
      `\nThe test run is over but the process is still held open ${graceMs / 1000} s later by:\n` +
        `  resources: ${process.getActiveResourcesInfo().join(', ')}\n  ${described.join('\n  ')}\n`,
    );
    process.exit(1);
  }, graceMs).unref();
}
