/**
 * Prometheus: serves cachier's metrics at /metrics with node:http and prom-client.
 *
 *   npm run example:prometheus          makes a few calls, scrapes itself once, prints it, exits
 *   tsx examples/prometheus.ts          keeps serving (PORT=9464 to pick the port; default any free one)
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cachier } from 'cachier';
import { registerCachierMetrics } from 'cachier/prometheus';
import { Registry } from 'prom-client';

const registry = new Registry();
registerCachierMetrics(registry);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const exchangeRate = cachier(
  async (from: string, to: string) => {
    await sleep(20); // a slow upstream API
    return from === to ? 1 : 1.08;
  },
  { name: 'exchangeRate', backend: 'memory', enableMetrics: true, staleAfter: { minutes: 5 } },
);

const userProfile = cachier(
  async (id: number) => {
    await sleep(5);
    return id > 0 ? { id, name: `user ${id}` } : null; // null: returned, not stored
  },
  { name: 'userProfile', backend: 'memory', enableMetrics: true },
);

// A few calls: 3 concurrent misses of one key (one calculation, two dedupes), hits, a null.
await Promise.all([
  exchangeRate('EUR', 'USD'),
  exchangeRate('EUR', 'USD'),
  exchangeRate('EUR', 'USD'),
]);
await exchangeRate('EUR', 'USD');
await exchangeRate('EUR', 'EUR');
await userProfile(1);
await userProfile(1);
await userProfile(0);

const server = createServer((request, response) => {
  if (request.url !== '/metrics') {
    response.writeHead(404).end('not found; try /metrics\n');
    return;
  }
  registry.metrics().then(
    (text) => {
      response.writeHead(200, { 'Content-Type': registry.contentType }).end(text);
    },
    (error: unknown) => {
      response.writeHead(500).end(String(error));
    },
  );
});

await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 0), resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
console.log(`serving ${url}`);

if (process.argv.includes('--once')) {
  const scrape = await (await fetch(url)).text();
  console.log(
    scrape
      .split('\n')
      .filter((line) => line.startsWith('cachier_') && !line.includes('_bucket{'))
      .join('\n'),
  );
  server.close();
}
