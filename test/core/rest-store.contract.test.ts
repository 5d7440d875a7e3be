import { describeStoreContract } from '@mlflow-kit/core/testing';
import { trackingUri } from '../helpers/python.js';
import { storeFor } from '../helpers/stores.js';

describeStoreContract(
  'RestStore on the real MLflow server',
  async () => ({
    store: await storeFor({ trackingUri: trackingUri(), maxRetries: 2, backoffFactor: 0.05 }),
  }),
  { capabilities: { registry: true, loggedModels: true, runUrl: true } },
);
