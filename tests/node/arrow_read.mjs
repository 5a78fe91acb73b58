// Reads Parquet files with arrow-rs (parquet-wasm: readParquet -> Arrow IPC -> apache-arrow
// tableFromIPC) and prints their rows as canonical JSON: the second independent reader of the C
// tests (tests/storage/test_parquet_writer.c renders what it wrote the same way):
//
//   [{"columns": ["id", ...], "types": ["Int64", ...], "rows": [[v, ...], ...]}, ...]
//
// one document per file named on the command line ({"error": "..."} for a file it cannot read).
//
// Values are rendered from the raw Arrow buffers, never through JS numbers, so nothing is lost:
//   null -> null; bool -> true/false
//   integers of every width, decimals (unscaled), dates (days), timestamps (microseconds since
//   the epoch, whatever the unit), -> decimal strings
//   float/double -> "nan", or the IEEE bits of the value as lower-case hex ("f32:3fc00000",
//   "f64:..."), so -0.0, infinities and denormals are exact
//   utf8 -> the string; binary / fixed-size binary -> lower-case hex
//   struct -> {"field": v, ...}; list -> [v, ...]; map -> [[k, v], ...]
//
// Usage: node arrow_read.mjs FILE... (several files per run: starting node and the WebAssembly
// module costs more than reading a small file).
import { readFileSync } from 'node:fs';
import { readParquet } from 'parquet-wasm';
import { tableFromIPC, Type } from 'apache-arrow';

const hex = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

function isValid(data, i) {
  const bm = data.nullBitmap;
  if (!bm || bm.length === 0 || data.nullCount === 0) {
    return true;
  }
  const j = data.offset + i;
  return (bm[j >> 3] >> (j & 7)) & 1;
}

// A little-endian two's complement integer of `words` 32-bit words starting at word w.
function wideInt(u32, w, words) {
  let v = 0n;
  for (let k = words - 1; k >= 0; k--) {
    v = (v << 32n) | BigInt(u32[w + k]);
  }
  const bits = BigInt(words * 32);
  if (v >> (bits - 1n)) {
    v -= 1n << bits;
  }
  return v;
}

const unitToMicros = { 0: 1000000n, 1: 1000n, 2: 1n }; // SECOND, MILLISECOND, MICROSECOND

function render(data, i) {
  if (!isValid(data, i)) {
    return null;
  }
  const t = data.type;
  const j = data.offset + i;
  switch (t.typeId) {
    case Type.Bool:
      return ((data.values[j >> 3] >> (j & 7)) & 1) === 1;
    case Type.Int:
      return data.values[j].toString();
    case Type.Float: {
      const v = data.values[j];
      if (Number.isNaN(v)) {
        return 'nan';
      }
      if (t.precision === 1) {
        const b = new DataView(new ArrayBuffer(4));
        b.setFloat32(0, v);
        return 'f32:' + b.getUint32(0).toString(16).padStart(8, '0');
      }
      const b = new DataView(new ArrayBuffer(8));
      b.setFloat64(0, v);
      return 'f64:' + b.getBigUint64(0).toString(16).padStart(16, '0');
    }
    case Type.Utf8:
    case Type.LargeUtf8: {
      const o = data.valueOffsets;
      return Buffer.from(data.values.subarray(Number(o[j]), Number(o[j + 1]))).toString('utf8');
    }
    case Type.Binary:
    case Type.LargeBinary: {
      const o = data.valueOffsets;
      return hex(data.values.subarray(Number(o[j]), Number(o[j + 1])));
    }
    case Type.FixedSizeBinary:
      return hex(data.values.subarray(j * t.byteWidth, (j + 1) * t.byteWidth));
    case Type.Date:
      if (t.unit === 0) { // DAY
        return data.values[j].toString();
      }
      return (BigInt(data.values[j]) / 86400000n).toString();
    case Type.Timestamp:
      return (BigInt(data.values[j]) * unitToMicros[t.unit]).toString();
    case Type.Decimal: {
      const words = t.bitWidth / 32;
      const u32 = new Uint32Array(data.values.buffer, data.values.byteOffset,
        data.values.byteLength / 4);
      return wideInt(u32, j * words, words).toString();
    }
    case Type.Struct: {
      const out = {};
      t.children.forEach((f, k) => { out[f.name] = render(data.children[k], i); });
      return out;
    }
    case Type.List: {
      const o = data.valueOffsets;
      const out = [];
      for (let k = o[j]; k < o[j + 1]; k++) {
        out.push(render(data.children[0], k));
      }
      return out;
    }
    case Type.Map: {
      const o = data.valueOffsets;
      const entries = data.children[0];
      const out = [];
      for (let k = o[j]; k < o[j + 1]; k++) {
        out.push([render(entries.children[0], k), render(entries.children[1], k)]);
      }
      return out;
    }
    default:
      throw new Error(`arrow_read: no canonical form for type ${t}`);
  }
}

// render(data, i) takes a logical index and adds data.offset itself; list offsets are logical
// indices into the child; struct children are sliced with their parent in Arrow JS, so a struct
// slot i is slot i of each child. (Data read from IPC has zero offsets anyway.)
function readOne(path) {
  const bytes = new Uint8Array(readFileSync(path));
  const table = tableFromIPC(readParquet(bytes).intoIPCStream());
  const fields = table.schema.fields;
  const rows = [];
  for (const batch of table.batches) {
    const cols = fields.map((_, k) => batch.data.children[k]);
    for (let i = 0; i < batch.numRows; i++) {
      rows.push(cols.map((d) => render(d, i)));
    }
  }
  return { columns: fields.map((f) => f.name), types: fields.map((f) => String(f.type)), rows };
}

// One document per file, in order; a file arrow-rs cannot read gives {"error": "..."}.
const out = process.argv.slice(2).map((path) => {
  try {
    return readOne(path);
  } catch (e) {
    return { error: String(e && e.message ? e.message : e) };
  }
});
process.stdout.write(JSON.stringify(out) + '\n');
