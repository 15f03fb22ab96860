import { shutdownCluster } from '../helpers/cluster.js';
import { suiteLogLeaks } from '../helpers/log-capture.js';
import { failIfHandlesStayOpen } from './open-handles.js';

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
