import { MongoClient } from 'mongodb';

/**
 * Whether the server at `uri` has change streams: a replica set member or a mongos (a
 * standalone refuses `$changeStream`). Tests against a real server pick the push-signal
 * or the polling-fallback checks by it.
 */
export async function hasChangeStreams(uri: string): Promise<boolean> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
  try {
    const hello = await client.db('admin').command({ hello: 1 });
    return typeof hello.setName === 'string' || hello.msg === 'isdbgrid';
  } finally {
    await client.close();
  }
}
