/**
 * Exports an avatar MLP (render-core/avatar/mlp.ts) as an ONNX model (IR 8,
 * opset 17) with folded weight-norm weights, so onnxruntime or any ONNX tool
 * can run and inspect it. Graph: input "x" [batch, inputs] -> per layer
 * MatMul (W^T) + Add (b) -> activation; the input is concatenated after the
 * skip layer -> output "y" [batch, outputs] (raw: heads are applied by the
 * caller, see render-core/avatar/networks.ts).
 * Field numbers are those of onnx.proto.
 */
import { ProtoWriter } from "./protobuf";
import { foldLayer, mlpLayers, mlpParamCount, type MlpSpec } from "../avatar/mlp";

const FLOAT = 1;
const ATTR_FLOAT = 1;
const ATTR_INT = 2;

interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Array<{ name: string; f?: number; i?: number }>;
}

export function writeOnnxMlp(spec: MlpSpec, params: Float32Array, name = "mlp"): Uint8Array {
  if (params.length !== mlpParamCount(spec))
    throw new Error(`writeOnnxMlp: params hold ${params.length} numbers, the spec needs ${mlpParamCount(spec)}`);
  const layers = mlpLayers(spec);
  const nodes: Node[] = [];
  const initializers: Array<{ name: string; dims: number[]; data: Float32Array }> = [
    { name: "sp_scale", dims: [], data: Float32Array.of(100) },
  ];
  let x = "x";
  layers.forEach((layer, l) => {
    const W = foldLayer(params, layer);
    // ONNX MatMul wants [in, out]: transpose the [out, in] rows.
    const Wt = new Float32Array(layer.in * layer.out);
    for (let o = 0; o < layer.out; o++) for (let i = 0; i < layer.in; i++) Wt[i * layer.out + o] = W[o * layer.in + i]!;
    initializers.push({ name: `W${l}`, dims: [layer.in, layer.out], data: Wt });
    initializers.push({ name: `b${l}`, dims: [layer.out], data: params.slice(layer.b, layer.b + layer.out) });
    nodes.push({ op: "MatMul", inputs: [x, `W${l}`], outputs: [`mm${l}`] });
    const last = l === layers.length - 1;
    const pre = last ? "y" : `pre${l}`;
    nodes.push({ op: "Add", inputs: [`mm${l}`, `b${l}`], outputs: [pre] });
    if (last) return;
    let h = `h${l}`;
    if (spec.activation === "relu") {
      nodes.push({ op: "Relu", inputs: [pre], outputs: [h] });
    } else {
      // softplus(100 x) / 100
      nodes.push({ op: "Mul", inputs: [pre, "sp_scale"], outputs: [`s${l}`] });
      nodes.push({ op: "Softplus", inputs: [`s${l}`], outputs: [`t${l}`] });
      nodes.push({ op: "Div", inputs: [`t${l}`, "sp_scale"], outputs: [h] });
    }
    if (spec.skipAt !== null && l === spec.skipAt) {
      nodes.push({ op: "Concat", inputs: [h, "x"], outputs: [`cat${l}`], attrs: [{ name: "axis", i: 1 }] });
      h = `cat${l}`;
    }
    x = h;
  });

  const valueInfo = (w: ProtoWriter, valueName: string, width: number) => {
    w.string(1, valueName);
    w.message(2, (type) =>
      type.message(1, (tensor) => {
        tensor.int(1, FLOAT);
        tensor.message(2, (shape) => {
          shape.message(1, (d) => d.string(2, "batch"));
          shape.message(1, (d) => d.int(1, width));
        });
      }),
    );
  };

  const model = new ProtoWriter();
  model.int(1, 8); // ir_version
  model.string(2, "perse-studio"); // producer_name
  model.message(7, (graph) => {
    for (const n of nodes) {
      graph.message(1, (node) => {
        for (const i of n.inputs) node.string(1, i);
        for (const o of n.outputs) node.string(2, o);
        node.string(3, `${n.op}_${n.outputs[0]}`);
        node.string(4, n.op);
        for (const a of n.attrs ?? []) {
          node.message(5, (attr) => {
            attr.string(1, a.name);
            if (a.f !== undefined) attr.float(2, a.f).int(20, ATTR_FLOAT);
            if (a.i !== undefined) attr.int(3, a.i).int(20, ATTR_INT);
          });
        }
      });
    }
    graph.string(2, name);
    for (const t of initializers) {
      graph.message(5, (tensor) => {
        for (const d of t.dims) tensor.int(1, d);
        tensor.int(2, FLOAT);
        tensor.string(8, t.name);
        tensor.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      });
    }
    graph.message(11, (w) => valueInfo(w, "x", spec.inputs));
    graph.message(12, (w) => valueInfo(w, "y", spec.outputs));
  });
  model.message(8, (opset) => opset.string(1, "").int(2, 17));
  return model.finish();
}
