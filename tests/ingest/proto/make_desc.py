#!/usr/bin/env python3
"""Writes test.desc, the FileDescriptorSet of p2.proto + test.proto, without protoc: a hand
encoder of descriptor.proto's messages (field numbers from google/protobuf/descriptor.proto).
With protoc installed, make_desc.sh uses it instead; both give a set the decoder reads the same."""
import os

def varint(v):
    out = bytearray()
    v &= (1 << 64) - 1
    while True:
        b = v & 0x7f
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)

def tag(n, wt):
    return varint(n << 3 | wt)

def ln(n, data):
    if isinstance(data, str):
        data = data.encode()
    return tag(n, 2) + varint(len(data)) + data

def vi(n, v):
    return tag(n, 0) + varint(v)

LABEL = {'opt': 1, 'req': 2, 'rep': 3}
TYPE = dict(double=1, float=2, int64=3, uint64=4, int32=5, fixed64=6, fixed32=7, bool=8,
            string=9, group=10, message=11, bytes=12, uint32=13, enum=14, sfixed32=15,
            sfixed64=16, sint32=17, sint64=18)

def field(name, number, typ, label='opt', type_name=None, oneof=None, p3opt=False, default=None):
    b = ln(1, name) + vi(3, number) + vi(4, LABEL[label]) + vi(5, TYPE[typ])
    if type_name:
        b += ln(6, type_name)
    if default is not None:
        b += ln(7, default)
    if oneof is not None:
        b += vi(9, oneof)
    b += ln(10, name)
    if p3opt:
        b += vi(17, 1)
    return ln(2, b)

def message(name, fields, nested=(), enums=(), oneofs=(), map_entry=False):
    b = ln(1, name) + b''.join(fields)
    for n in nested:
        b += ln(3, n)
    for e in enums:
        b += ln(4, e)
    if map_entry:
        b += ln(7, vi(7, 1))
    for o in oneofs:
        b += ln(8, ln(1, o))
    return b

def enum(name, values):
    b = ln(1, name)
    for vname, num in values:
        b += ln(2, ln(1, vname) + vi(2, num))
    return b

def file(name, package, messages, enums=(), deps=(), syntax=None):
    b = ln(1, name) + ln(2, package)
    for d in deps:
        b += ln(3, d)
    for m in messages:
        b += ln(4, m)
    for e in enums:
        b += ln(5, e)
    if syntax:
        b += ln(12, syntax)
    return b

p2 = file('p2.proto', 'p2', [message('Req', [
    field('id', 1, 'int32', 'req'),
    field('name', 2, 'string'),
    field('n', 3, 'int32', default='7'),
])], syntax=None)

inner = message('Inner', [field('a', 1, 'int32'), field('s', 2, 'string')])
mentry = message('MEntry', [field('key', 1, 'string'), field('value', 2, 'int64')], map_entry=True)
s = [
    ('i32', 'int32'), ('i64', 'int64'), ('u32', 'uint32'), ('u64', 'uint64'), ('s32', 'sint32'),
    ('s64', 'sint64'), ('f32', 'fixed32'), ('f64', 'fixed64'), ('sf32', 'sfixed32'),
    ('sf64', 'sfixed64'), ('b', 'bool'), ('fl', 'float'), ('db', 'double'), ('str', 'string'),
    ('by', 'bytes'),
]
fields = [field(n, i + 1, t) for i, (n, t) in enumerate(s)]
fields += [
    field('color', 16, 'enum', type_name='.t.Color'),
    field('inner', 17, 'message', type_name='.t.Inner'),
    field('ri', 18, 'int32', 'rep'),
    field('rs', 19, 'string', 'rep'),
    field('rm', 20, 'message', 'rep', type_name='.t.Inner'),
    field('m', 21, 'message', 'rep', type_name='.t.All.MEntry'),
    field('ts', 22, 'message', type_name='.google.protobuf.Timestamp'),
    field('ws', 23, 'message', type_name='.google.protobuf.StringValue'),
    field('wi', 24, 'message', type_name='.google.protobuf.Int64Value'),
    field('oa', 25, 'string', oneof=0),
    field('ob', 26, 'int32', oneof=0),
    field('opt', 27, 'int32', oneof=1, p3opt=True),
    field('rc', 28, 'enum', 'rep', type_name='.t.Color'),
    field('rd', 29, 'double', 'rep'),
    field('rz', 30, 'sint64', 'rep'),
]
all_ = message('All', fields, nested=[mentry], oneofs=['choice', '_opt'])
rec = message('Rec', [field('v', 1, 'int32'), field('next', 2, 'message', type_name='.t.Rec')])
outer = message('Outer', [field('n', 1, 'message', type_name='.t.Outer.Nested')],
                nested=[message('Nested', [field('in', 1, 'message', type_name='.t.Inner')])])
color = enum('Color', [('RED', 0), ('GREEN', 1), ('BLUE', 2)])
t = file('test.proto', 't', [inner, all_, rec, outer], enums=[color],
         deps=['google/protobuf/timestamp.proto', 'google/protobuf/wrappers.proto'],
         syntax='proto3')

out = ln(1, p2) + ln(1, t)
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, 'test.desc'), 'wb') as f:
    f.write(out)
