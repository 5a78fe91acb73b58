// DuckDB's side of bench/parquet (see bench/README.md), with @duckdb/node-api from tests/node.
//
//   node bench/duckdb_write.mjs write INPUT.parquet OUT.parquet [REPS] [WARMUP] [LEVEL]
//       Loads INPUT into an in-memory table t (untimed), then with SET threads=1 times
//       COPY t TO 'OUT' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL LEVEL) REPS times
//       (default 1; LEVEL default 3, DuckDB's own) after WARMUP untimed copies (default 0), with performance.now(). Prints one line of JSON: the
//       median seconds, and the seconds of an fsync of OUT and of its directory right after the
//       copy (DuckDB's COPY does not make the file durable; smelter's writer does).
//   node bench/duckdb_write.mjs columns A.parquet B.parquet
//       Per column of both files: compressed and uncompressed bytes, encodings (untimed).
//   node bench/duckdb_write.mjs verify A.parquet B.parquet
//       Row counts of both files and the rows of either that the other lacks (EXCEPT ALL).
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const require = createRequire(new URL('../tests/node/package.json', import.meta.url));
const { DuckDBInstance } = require('@duckdb/node-api');

const q = (s) => `'${s.replaceAll("'", "''")}'`;

function fsyncPath(p, dir) {
  const fd = fs.openSync(p, dir ? 'r' : 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

async function rows(conn, sql) {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJson();
}

async function write(conn, input, out, reps, warmup, level) {
  await conn.run(`CREATE TABLE t AS SELECT * FROM read_parquet(${q(input)})`);
  await conn.run('SET threads = 1');
  const copy = `COPY t TO ${q(out)} (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL ${level})`;
  for (let i = 0; i < warmup; i++) {
    await conn.run(copy);
  }
  const runs = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await conn.run(copy);
    const t1 = performance.now();
    fsyncPath(out, false);
    fsyncPath(path.dirname(path.resolve(out)), true);
    const t2 = performance.now();
    runs.push({ secs: (t1 - t0) / 1000, fsync: (t2 - t1) / 1000 });
  }
  runs.sort((a, b) => a.secs - b.secs);
  const m = runs[Math.floor(runs.length / 2)];
  const [{ n }] = await rows(conn, 'SELECT count(*)::BIGINT AS n FROM t');
  const [{ v }] = await rows(conn, 'SELECT version() AS v');
  process.stdout.write(JSON.stringify({
    rows: Number(n),
    secs: m.secs,
    fsync_s: m.fsync,
    min_s: runs[0].secs,
    max_s: runs[runs.length - 1].secs,
    file_size: fs.statSync(out).size,
    duckdb_version: v,
  }) + '\n');
}

async function columns(conn, a, b) {
  const per = async (f) => rows(conn, `
    SELECT path_in_schema AS col, sum(total_compressed_size)::BIGINT AS comp,
           sum(total_uncompressed_size)::BIGINT AS uncomp, count(*)::BIGINT AS rg,
           string_agg(DISTINCT encodings, ' ') AS enc, any_value(compression) AS codec
    FROM parquet_metadata(${q(f)}) GROUP BY col ORDER BY min(column_id)`);
  const ra = await per(a);
  const rb = new Map((await per(b)).map((r) => [r.col, r]));
  const mb = (x) => (Number(x) / 1e6).toFixed(2);
  const pad = (s, n) => String(s).padStart(n);
  console.log(`  ${'column'.padEnd(12)} ${pad('smelter MB', 10)} ${pad('duckdb MB', 10)} ` +
    `${pad('ratio', 6)}  ${'smelter encodings'.padEnd(34)} duckdb encodings (uncompressed MB s/d)`);
  let ta = 0, tb = 0;
  for (const r of ra) {
    const o = rb.get(r.col) || { comp: 0, uncomp: 0, enc: '-' };
    ta += Number(r.comp);
    tb += Number(o.comp);
    console.log(`  ${r.col.padEnd(12)} ${pad(mb(r.comp), 10)} ${pad(mb(o.comp), 10)} ` +
      `${pad((Number(r.comp) / Number(o.comp)).toFixed(2), 6)}  ${r.enc.padEnd(34)} ${o.enc} ` +
      `(${mb(r.uncomp)} / ${mb(o.uncomp)})`);
  }
  console.log(`  ${'all columns'.padEnd(12)} ${pad(mb(ta), 10)} ${pad(mb(tb), 10)} ` +
    `${pad((ta / tb).toFixed(2), 6)}  row groups: smelter ${ra[0]?.rg}, duckdb ` +
    `${rb.get(ra[0]?.col)?.rg}`);
  // What the files hold besides column chunks: bloom filters, page indexes, the footer.
  const rest = async (f) => {
    const [r] = await rows(conn, `SELECT coalesce(sum(bloom_filter_length), 0)::BIGINT AS bloom,
        sum(total_compressed_size)::BIGINT AS chunks FROM parquet_metadata(${q(f)})`);
    const other = fs.statSync(f).size - Number(r.chunks);
    return `${mb(other)} MB (bloom filters ${mb(r.bloom)} MB, footer and the rest ` +
      `${mb(other - Number(r.bloom))} MB)`;
  };
  console.log(`  outside the column chunks: smelter ${await rest(a)}; duckdb ${await rest(b)}`);
}

async function verify(conn, a, b) {
  const [r] = await rows(conn, `SELECT
      (SELECT count(*) FROM read_parquet(${q(a)}))::BIGINT AS rows_a,
      (SELECT count(*) FROM read_parquet(${q(b)}))::BIGINT AS rows_b,
      (SELECT count(*) FROM (SELECT * FROM read_parquet(${q(a)})
                             EXCEPT ALL SELECT * FROM read_parquet(${q(b)})))::BIGINT AS only_a,
      (SELECT count(*) FROM (SELECT * FROM read_parquet(${q(b)})
                             EXCEPT ALL SELECT * FROM read_parquet(${q(a)})))::BIGINT AS only_b,
      (SELECT count(*) FILTER (WHERE coupon IS NULL) FROM read_parquet(${q(a)}))::BIGINT
        AS nulls_a`);
  process.stdout.write(JSON.stringify(r) + '\n');
}

const [mode, a, b, x, y, z] = process.argv.slice(2);
try {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  if (mode === 'write' && a && b) {
    await write(conn, a, b, Number(x || 1), Number(y || 0), Number(z || 3));
  } else if (mode === 'columns' && a && b) {
    await columns(conn, a, b);
  } else if (mode === 'verify' && a && b) {
    await verify(conn, a, b);
  } else {
    process.stderr.write('usage: duckdb_write.mjs write IN OUT [REPS] [WARMUP] [LEVEL] | columns A B | ' +
      'verify A B\n');
    process.exit(2);
  }
} catch (e) {
  process.stderr.write(`duckdb_write: ${e.message}\n`);
  process.exit(1);
}
