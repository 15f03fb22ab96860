import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { SECTIONS } from './sections/index.js';

/**
 * `npm run bench` (R-PERF): every figure is printed beside its reference measured in the same run, as a ratio.
 * `npm run bench -- <section> …` runs only the named sections. Never part of `npm test`.
 */
async function main() {
  // Servers under test run the compiled build, as `npm start` does.
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  console.log(`Export Manager bench — ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString()}`);
  for (const section of SECTIONS) {
    if (wanted.length && !wanted.includes(section.name)) continue;
    console.log(`\n== ${section.name}: ${section.title}`);
    const started = Date.now();
    try {
      await section.run();
    } catch (e) {
      console.log(`   section failed: ${(e as Error).stack ?? e}`);
      process.exitCode = 1;
    }
    console.log(`   (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
