import { RestStore } from '../../packages/core/src/rest-store.js';
import { resolveSettings } from '../../packages/core/src/settings.js';
import { describeStoreContract } from '../../packages/core/src/testing/store-contract.js';
import { trackingUri } from '../helpers/python.js';

describeStoreContract(
  'RestStore on the real MLflow server',
  async () => ({
    store: new RestStore(
      resolveSettings({ trackingUri: trackingUri(), maxRetries: 2, backoffFactor: 0.05 }, {}),
    ),
  }),
  { capabilities: { registry: true, runUrl: true } },
);
