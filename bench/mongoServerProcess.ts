/**
 * The MongoDB wire-protocol test server in its own process for the benchmark. It sends its
 * URI over IPC and exits when its parent goes away, even if the parent was killed.
 */
import { startMongoTestServer } from '../test/support/mongoTestServer.js';

const server = await startMongoTestServer();
process.send?.({ uri: server.uri });
process.on('disconnect', () => {
  void server.close().then(() => process.exit(0));
});
