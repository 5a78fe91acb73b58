// DuckDB's side of bench/decode (see bench/README.md), with @duckdb/node-api from tests/node.
//
//   node bench/duckdb_read_json.mjs ORDERS.ndjson [REPS] [WARMUP]
//       With SET threads=1, times CREATE TABLE t AS SELECT * FROM read_json(..., explicit
//       columns) REPS times (default 3) after WARMUP untimed loads (default 1), with
//       performance.now(), and prints one line of JSON: rows, median seconds, DuckDB's version.
//       The table materialises every column, as smelter's decoder fills every column buffer.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(new URL('../tests/node/package.json', import.meta.url));
const { DuckDBInstance } = require('@duckdb/node-api');

const q = (s) => `'${s.replaceAll("'", "''")}'`;
const [file, reps = '3', warmup = '1'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bench/duckdb_read_json.mjs ORDERS.ndjson [REPS] [WARMUP]\n');
  process.exit(2);
}
const columns = "{order_id: 'VARCHAR', customer_id: 'VARCHAR', product_id: 'VARCHAR', " +
  "category: 'VARCHAR', quantity: 'INTEGER', price: 'DOUBLE', order_ts: 'TIMESTAMPTZ', " +
  "status: 'VARCHAR', device: 'VARCHAR', country: 'VARCHAR', coupon: 'VARCHAR'}";
const load = `CREATE TABLE t AS SELECT * FROM read_json(${q(file)}, ` +
  `format = 'newline_delimited', columns = ${columns})`;

const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
await conn.run('SET threads = 1');
const secs = [];
for (let i = -Number(warmup); i < Number(reps); i++) {
  await conn.run('DROP TABLE IF EXISTS t');
  const t0 = performance.now();
  await conn.run(load);
  const t1 = performance.now();
  if (i >= 0) {
    secs.push((t1 - t0) / 1000);
  }
}
secs.sort((a, b) => a - b);
const m = secs.length % 2 ? secs[(secs.length - 1) / 2]
  : (secs[secs.length / 2 - 1] + secs[secs.length / 2]) / 2;
const rows = (await conn.runAndReadAll('SELECT count(*)::INTEGER AS n, ' +
  'count(coupon)::INTEGER AS c FROM t')).getRowObjectsJson()[0];
const v = (await conn.runAndReadAll('SELECT version() AS v')).getRowObjectsJson()[0].v;
process.stdout.write(JSON.stringify({ rows: rows.n, coupons: rows.c, secs: m,
  duckdb_version: v }) + '\n');
