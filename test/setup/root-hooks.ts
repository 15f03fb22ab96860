import { shutdownCluster } from '../helpers/cluster.js';

// Root hooks for every test file: the shared PostgreSQL (started lazily by test/helpers/cluster.ts) stops at the end.
export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(30_000);
    await shutdownCluster();
  },
};
