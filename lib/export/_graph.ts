/**
 * A small builder of ONNX graphs over `onnx-proto`'s generated protobuf
 * classes: nodes get fresh output names, constants become initializers.
 * Private to lib/export.
 *
 * @module
 */
import type { onnx as OnnxNs } from "onnx-proto";
import onnxProto from "onnx-proto";

/** The generated ONNX protobuf namespace (CommonJS default export under Deno). */
export const onnx: typeof OnnxNs =
  (onnxProto as unknown as { onnx: typeof OnnxNs }).onnx;

/** ONNX element types used here. */
export const DT = {
  FLOAT: 1,
  BOOL: 9,
  INT64: 7,
} as const;

/** An attribute value: a number is an INT unless listed as a float. */
export type AttrValue =
  | { int: number }
  | { ints: number[] }
  | { float: number }
  | { graph: OnnxNs.IGraphProto }
  | { tensor: OnnxNs.ITensorProto };

/** A dimension: a fixed size or a symbolic name. */
export type Dim = number | string;

function attribute(name: string, v: AttrValue): OnnxNs.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ("int" in v) return { name, type: T.INT, i: v.int };
  if ("ints" in v) return { name, type: T.INTS, ints: v.ints };
  if ("float" in v) return { name, type: T.FLOAT, f: v.float };
  if ("graph" in v) return { name, type: T.GRAPH, g: v.graph };
  return { name, type: T.TENSOR, t: v.tensor };
}

/** Typed value information of a graph input or output. */
export function valueInfo(
  name: string,
  elemType: number,
  dims?: Dim[],
): OnnxNs.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: dims && {
          dim: dims.map((d) =>
            typeof d === "number" ? { dimValue: d } : { dimParam: d }
          ),
        },
      },
    },
  };
}

/** A float32 tensor proto (raw little-endian data). */
export function floatTensor(
  name: string,
  dims: number[],
  values: Float32Array,
): OnnxNs.ITensorProto {
  const n = dims.reduce((a, b) => a * b, 1);
  if (values.length !== n) {
    throw new Error(
      `onnx: tensor '${name}' expected ${n} values for shape [${dims}], found ${values.length}`,
    );
  }
  const bytes = new Uint8Array(values.buffer, values.byteOffset, n * 4);
  return { name, dims, dataType: DT.FLOAT, rawData: bytes };
}

/** An int64 tensor proto. */
export function int64Tensor(
  name: string,
  dims: number[],
  values: number[],
): OnnxNs.ITensorProto {
  return { name, dims, dataType: DT.INT64, int64Data: values };
}

/** A bool tensor proto. */
export function boolTensor(
  name: string,
  dims: number[],
  values: Uint8Array,
): OnnxNs.ITensorProto {
  return { name, dims, dataType: DT.BOOL, rawData: values };
}

/** Collects the nodes and initializers of one graph. */
export class GraphBuilder {
  /** Nodes in topological order. */
  readonly nodes: OnnxNs.INodeProto[] = [];
  /** Initializers (weights and constants). */
  readonly initializers: OnnxNs.ITensorProto[] = [];
  #count = 0;
  readonly #prefix: string;

  /** `prefix` keeps the names of a subgraph apart from its parent's. */
  constructor(prefix = "") {
    this.#prefix = prefix;
  }

  /** A fresh value name. */
  fresh(hint: string): string {
    return `${this.#prefix}${hint}_${this.#count++}`;
  }

  /** Add a node; returns its output names (`outputs` of them). */
  nodeN(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    outputs = 1,
  ): string[] {
    const out = Array.from(
      { length: outputs },
      () => this.fresh(opType.toLowerCase()),
    );
    this.nodes.push({
      opType,
      input: inputs,
      output: out,
      name: out[0],
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return out;
  }

  /** Add a node with one output; returns its name. */
  node(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
  ): string {
    return this.nodeN(opType, inputs, attrs, 1)[0];
  }

  /** A float32 weight under its own name. */
  weight(name: string, dims: number[], values: Float32Array): string {
    this.initializers.push(floatTensor(name, dims, values));
    return name;
  }

  /** A float32 constant (scalar when `dims` is empty). */
  float(values: number[], dims: number[] = []): string {
    const name = this.fresh("const_f");
    this.initializers.push(floatTensor(name, dims, Float32Array.from(values)));
    return name;
  }

  /** An int64 constant, a 1-D vector by default. */
  int64(values: number[], dims: number[] = [values.length]): string {
    const name = this.fresh("const_i");
    this.initializers.push(int64Tensor(name, dims, values));
    return name;
  }

  /** A bool constant. */
  bool(values: Uint8Array, dims: number[]): string {
    const name = this.fresh("const_b");
    this.initializers.push(boolTensor(name, dims, values));
    return name;
  }

  /** The finished graph. */
  graph(
    name: string,
    inputs: OnnxNs.IValueInfoProto[],
    outputs: OnnxNs.IValueInfoProto[],
  ): OnnxNs.IGraphProto {
    return {
      name,
      node: this.nodes,
      initializer: this.initializers,
      input: inputs,
      output: outputs,
    };
  }
}
