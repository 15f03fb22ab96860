import fc from 'fast-check';
import { shutdownCluster } from '../helpers/cluster.js';
import { suiteLogLeaks } from '../helpers/log-capture.js';
import { runs } from '../helpers/thorough.js';
import { failIfHandlesStayOpen } from './open-handles.js';

// Properties without their own numRuns: fast-check's 100 under CI or THOROUGH=1, fewer in a developer's loop.
fc.configureGlobal({ numRuns: runs(100) });

// Root hooks for every test file: the shared PostgreSQL (started lazily by test/helpers/cluster.ts) stops at the end.
export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(30_000);
    await shutdownCluster();
    failIfHandlesStayOpen(15_000);
    // Issue 12: the logs of every test app of this run never show a secret the tests used.
    const { leaks } = await suiteLogLeaks();
    if (leaks.length > 0) throw new Error(`secrets in the logs of this test run:\n${leaks.join('\n')}`);
  },
};
