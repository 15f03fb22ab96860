import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A full garbage collection on request, for the rare moments when the process just dropped tens of megabytes at once
 * (a batch of huge objects, see produce/data-producer.ts). V8 collects its large-object space lazily, sized to the
 * heap limit (gigabytes), so twenty 10 MB objects took the worker to 600+ MB of garbage although one object at a
 * time was alive. `gc` is exposed without starting node with --expose-gc the way jest-leak-detector does it: set
 * the flag, take `gc` from a fresh context, and unset the flag again (the global scope never gets it).
 */
let collect: (() => void) | null | undefined;

export function collectGarbage(): boolean {
  if (collect === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as () => void;
      setFlagsFromString('--no-expose-gc');
    } catch {
      collect = null;
    }
  }
  if (!collect) return false;
  collect();
  return true;
}
