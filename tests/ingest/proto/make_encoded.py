#!/usr/bin/env python3
"""Writes encoded.tsv: payloads encoded by protoc (`protoc --encode`, an encoder independent of
ours) from text format, with the columns they must decode to. Needs protoc (Debian
protobuf-compiler); the .tsv is committed so the tests do not. Columns: name, message, payload
hex, expected JSON object of some of the row's columns (as tools/json_rows.h renders them)."""
import os
import subprocess

here = os.path.dirname(os.path.abspath(__file__))

CASES = [
    ('scalars', 't.All',
     'i32: -5 i64: 1234567890123 u32: 4000000000 u64: 77 s32: -100 s64: -1000000 '
     'f32: 9 f64: 10 sf32: -11 sf64: -12 b: true fl: 1.5 db: -0.25 str: "h\\303\\251" '
     'by: "\\001\\377"',
     '{"i32":-5,"i64":1234567890123,"u32":4000000000,"u64":77,"s32":-100,"s64":-1000000,'
     '"f32":9,"f64":10,"sf32":-11,"sf64":-12,"b":true,"fl":1.5,"db":-0.25,"str":"h\u00e9",'
     '"by":"Af8="}'),
    ('defaults', 't.All', '',
     '{"i32":0,"str":"","b":false,"color":"RED","inner":null,"ri":[],"ts":null,"opt":null,'
     '"oa":null,"ob":null}'),
    ('enum', 't.All', 'color: BLUE rc: GREEN rc: RED rc: BLUE',
     '{"color":"BLUE","rc":["GREEN","RED","BLUE"]}'),
    ('nested', 't.All', 'inner { a: 3 s: "x" } rm { a: 1 } rm { s: "y" }',
     '{"inner":{"a":3,"s":"x"},"rm":[{"a":1,"s":""},{"a":0,"s":"y"}]}'),
    ('packed', 't.All', 'ri: 1 ri: -2 ri: 300 rd: 0.5 rd: 2 rz: -3 rz: 4',
     '{"ri":[1,-2,300],"rd":[0.5,2],"rz":[-3,4]}'),
    ('strings', 't.All', 'rs: "a" rs: "" rs: "\\342\\202\\254"',
     '{"rs":["a","","\u20ac"]}'),
    ('map', 't.All', 'm { key: "a" value: 1 } m { key: "b" value: -2 }',
     '{"m":[{"key":"a","value":1},{"key":"b","value":-2}]}'),
    ('timestamp', 't.All', 'ts { seconds: 1672531200 nanos: 5000 }',
     '{"ts":"2023-01-01T00:00:00.000005Z"}'),
    ('wrappers', 't.All', 'ws { value: "w" } wi { value: -9 }', '{"ws":"w","wi":-9}'),
    ('wrappers default', 't.All', 'ws { } wi { }', '{"ws":"","wi":0}'),
    ('oneof a', 't.All', 'oa: "x"', '{"oa":"x","ob":null}'),
    ('oneof b', 't.All', 'ob: 0', '{"oa":null,"ob":0}'),
    ('proto3 optional zero', 't.All', 'opt: 0', '{"opt":0,"i32":0}'),
    ('outer', 't.Outer', 'n { in { a: 5 } }', '{"n":{"in":{"a":5,"s":""}}}'),
    ('proto2', 'p2.Req', 'id: 1 name: "n"', '{"id":1,"name":"n","n":null}'),
    ('proto2 explicit default', 'p2.Req', 'id: 2 n: 7', '{"id":2,"name":null,"n":7}'),
]

with open(os.path.join(here, 'encoded.tsv'), 'w') as out:
    for name, msg, text, want in CASES:
        enc = subprocess.run(['protoc', '--encode=' + msg, 'p2.proto', 'test.proto'], cwd=here,
                             input=text.encode(), capture_output=True, check=True).stdout
        out.write('%s\t%s\t%s\t%s\n' % (name, msg, enc.hex(), want))
