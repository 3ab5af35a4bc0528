// The shared driver suite over the in-memory driver.
import { MemoryDriver } from '../../storage/driver/memory.js';
import { registerDriverSuite } from './driver-suite.js';

registerDriverSuite('inmemory', async () => ({ driver: new MemoryDriver(), cleanup: async () => undefined }));
