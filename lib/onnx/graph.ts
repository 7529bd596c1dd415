/**
 * ONNX graphs built in code: a small builder over the ONNX protobuf schema (the subset a scorer needs), encoded with
 * protobufjs. Field numbers follow onnx/onnx.proto (IR version 8).
 */
import protobuf from 'protobufjs';

const ONNX_PROTO = `
syntax = "proto3";
package onnx;
message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; FLOATS = 6; INTS = 7; STRINGS = 8; }
  string name = 1;
  float f = 2;
  int64 i = 3;
  bytes s = 4;
  repeated float floats = 7;
  repeated int64 ints = 8;
  AttributeType type = 20;
}
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  string name = 3;
  string op_type = 4;
  repeated AttributeProto attribute = 5;
  string domain = 7;
}
message TensorShapeProto {
  message Dimension { oneof value { int64 dim_value = 1; string dim_param = 2; } }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor { int32 elem_type = 1; TensorShapeProto shape = 2; }
  oneof value { Tensor tensor_type = 1; }
}
message ValueInfoProto { string name = 1; TypeProto type = 2; string doc_string = 3; }
message TensorProto {
  repeated int64 dims = 1;
  int32 data_type = 2;
  string name = 8;
  bytes raw_data = 9;
}
message GraphProto {
  repeated NodeProto node = 1;
  string name = 2;
  repeated TensorProto initializer = 5;
  string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}
message OperatorSetIdProto { string domain = 1; int64 version = 2; }
message StringStringEntryProto { string key = 1; string value = 2; }
message ModelProto {
  int64 ir_version = 1;
  string producer_name = 2;
  string producer_version = 3;
  string domain = 4;
  int64 model_version = 5;
  string doc_string = 6;
  GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
  repeated StringStringEntryProto metadata_props = 14;
}
`;

const root = protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
const ModelProto = root.lookupType('onnx.ModelProto');

/** ONNX TensorProto data types used here. */
const FLOAT = 1;
const INT64 = 7;

type Dim = number | string;
/** An attribute: one integer, one float, integers, or a string. */
export type Attr = { i: number } | { f: number } | { ints: number[] } | { s: string };

/** Builds one graph: inputs, initializers (constants), nodes, outputs; then the encoded model. */
export class GraphBuilder {
  private readonly nodes: object[] = [];
  private readonly inits: object[] = [];
  private readonly inputs: object[] = [];
  private readonly outputs: object[] = [];
  private counter = 0;

  constructor(
    readonly name: string,
    readonly opset = 13,
  ) {}

  private static valueInfo(name: string, dims: Dim[], elemType = FLOAT): object {
    return {
      name,
      type: {
        tensor_type: {
          elem_type: elemType,
          shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
        },
      },
    };
  }

  /** A graph input of float32. */
  input(name: string, dims: Dim[]): string {
    this.inputs.push(GraphBuilder.valueInfo(name, dims));
    return name;
  }

  /** A graph output of float32. */
  output(name: string, dims: Dim[]): string {
    this.outputs.push(GraphBuilder.valueInfo(name, dims));
    return name;
  }

  /** A float32 constant (stored as raw little-endian bytes). */
  constant(values: ArrayLike<number>, dims: number[], name = this.fresh('c')): string {
    const f = Float32Array.from(values as ArrayLike<number>);
    if (f.length !== dims.reduce((a, b) => a * b, 1))
      throw new RangeError(`constant ${name}: ${f.length} values for dims [${dims.join(', ')}]`);
    this.inits.push({ name, dims, data_type: FLOAT, raw_data: new Uint8Array(f.buffer, f.byteOffset, f.byteLength) });
    return name;
  }

  /** An int64 constant (shapes, axes). */
  int64(values: number[], dims = [values.length], name = this.fresh('i')): string {
    const b = BigInt64Array.from(values, (v) => BigInt(v));
    this.inits.push({ name, dims, data_type: INT64, raw_data: new Uint8Array(b.buffer) });
    return name;
  }

  /** A node; returns its (first) output name. */
  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, output = this.fresh(op.toLowerCase())): string {
    const attribute = Object.entries(attrs).map(([name, a]) =>
      'i' in a
        ? { name, type: 2, i: a.i }
        : 'f' in a
          ? { name, type: 1, f: a.f }
          : 'ints' in a
            ? { name, type: 7, ints: a.ints }
            : { name, type: 3, s: new TextEncoder().encode(a.s) },
    );
    this.nodes.push({ input: inputs, output: [output], op_type: op, name: output, attribute });
    return output;
  }

  private fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  /** The encoded ModelProto. */
  toBytes(metadata: Record<string, string> = {}, doc = ''): Uint8Array {
    const message = ModelProto.fromObject({
      ir_version: 8,
      producer_name: 'flux-keeper-workbench',
      graph: {
        node: this.nodes,
        name: this.name,
        initializer: this.inits,
        input: this.inputs,
        output: this.outputs,
        doc_string: doc,
      },
      opset_import: [{ domain: '', version: this.opset }],
      metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    });
    return ModelProto.encode(message).finish();
  }
}
