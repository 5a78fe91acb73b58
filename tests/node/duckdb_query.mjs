// Runs SQL (read from stdin) in an in-memory DuckDB and prints the rows of the last
// statement as one JSON array of objects. BIGINTs become numbers when they fit, strings
// otherwise. Used by the C tests (tests/sm_test.c: sm_test_duckdb) as the independent reader.
import { DuckDBInstance } from '@duckdb/node-api';

const sql = await new Promise((resolve) => {
  let data = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (c) => { data += c; });
  process.stdin.on('end', () => resolve(data));
});

try {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const reader = await conn.runAndReadAll(sql);
  const rows = reader.getRowObjectsJson();
  process.stdout.write(JSON.stringify(rows) + '\n');
} catch (e) {
  process.stderr.write(`duckdb: ${e.message}\n`);
  process.exit(1);
}
