// Prints the column-chunk statistics of Parquet files as read by hyparquet (pure JavaScript,
// no code shared with DuckDB or arrow-rs), raw: the C tests compare them with what they
// computed (tests/storage/test_parquet_writer.c). DuckDB's parquet_metadata() prints no
// non-finite float statistic and re-encodes bytes; this shows what the footer holds:
//
//   [{"chunks": [[row_group, column, min, max, null_count, min_exact, max_exact], ...]}, ...]
//
// one document per file named on the command line ({"error": "..."} when it cannot be read).
//   min / max: null when absent; booleans; integers, dates (days) and timestamps (in the unit
//   stored) as decimal strings; FLOAT / DOUBLE as "f32:<bits>" / "f64:<bits>" in lower-case hex;
//   BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY as lower-case hex; DECIMAL as "decimal" (hyparquet
//   turns decimal statistics into JS numbers, which would lose digits).
//   null_count: a decimal string or null; *_exact: true / false / null.
//
// Usage: node hyparquet_stats.mjs FILE...
import { readFileSync } from 'node:fs';
import { parquetMetadata } from 'hyparquet';

const hex = (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const raw = (x) => x;
const parsers = {
  timestampFromMilliseconds: raw,
  timestampFromMicroseconds: raw,
  timestampFromNanoseconds: raw,
  dateFromDays: raw,
  stringFromBytes: (b) => (b === undefined ? b : hex(b)),
  jsonFromBytes: (b) => (b === undefined ? b : hex(b)),
  uuidFromBytes: (b) => (b === undefined ? b : hex(b)),
};

function floatBits(x, type) {
  if (type === 'FLOAT') {
    const v = new DataView(new ArrayBuffer(4));
    v.setFloat32(0, x);
    return 'f32:' + v.getUint32(0).toString(16).padStart(8, '0');
  }
  const v = new DataView(new ArrayBuffer(8));
  v.setFloat64(0, x);
  return 'f64:' + v.getBigUint64(0).toString(16).padStart(16, '0');
}

function render(x, leaf) {
  if (x === undefined || x === null) {
    return null;
  }
  if (leaf.converted_type === 'DECIMAL') {
    return 'decimal';
  }
  if (leaf.type === 'FLOAT' || leaf.type === 'DOUBLE') {
    return floatBits(x, leaf.type);
  }
  if (typeof x === 'boolean' || typeof x === 'string') {
    return x;
  }
  if (x instanceof Uint8Array) {
    return hex(x);
  }
  return x.toString(); // number or bigint
}

function readOne(path) {
  const buf = readFileSync(path);
  const md = parquetMetadata(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength),
    { parsers });
  // schema elements are depth-first; those without children are the leaves, in column order
  const leaves = md.schema.filter((e) => !e.num_children);
  const chunks = [];
  md.row_groups.forEach((rg, g) => {
    rg.columns.forEach((c, k) => {
      const s = c.meta_data.statistics || {};
      const nc = s.null_count;
      chunks.push([g, k, render(s.min_value, leaves[k]), render(s.max_value, leaves[k]),
        nc === undefined ? null : nc.toString(),
        s.is_min_value_exact === undefined ? null : s.is_min_value_exact,
        s.is_max_value_exact === undefined ? null : s.is_max_value_exact]);
    });
  });
  return { chunks };
}

const out = process.argv.slice(2).map((path) => {
  try {
    return readOne(path);
  } catch (e) {
    return { error: String(e && e.message ? e.message : e) };
  }
});
process.stdout.write(JSON.stringify(out) + '\n');
