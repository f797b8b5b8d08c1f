// Package tfjs converts a TensorFlow.js graph model (model.json and its
// weight shards) into an ONNX model that ONNX Runtime can run.
//
// # Reading
//
// ReadDir reads a model directory. model.json is plain JSON; a bundled
// model.min.js (a browserify wrapper whose module exports the same object
// as a JavaScript literal, as the npm package nsfwjs ships it) is read too.
// Each weight shard is either a raw binary file or a .min.js wrapper that
// exports the shard as one base64 string. Quantised weights (uint8 or
// uint16 with the manifest's per-tensor min and scale, or float16) are
// dequantised to float32 as TensorFlow.js does: q*scale + min.
//
// # Converting
//
// Convert maps the graph's nodes, in order, to ONNX (opset 17) nodes:
//
//	Placeholder                     graph input (NHWC), transposed to NCHW once
//	Const                           initializer (conv weights re-laid out)
//	Identity                        alias
//	Conv2D, _FusedConv2D            Conv (+ bias, + Relu/Relu6 as Relu/Clip)
//	DepthwiseConv2dNative,
//	FusedDepthwiseConv2dNative      grouped Conv
//	AvgPool, MaxPool                AveragePool (padding not counted), MaxPool
//	Add, AddV2, Sub, Mul, BiasAdd   Add, Sub, Mul (per-channel constants reshaped)
//	Relu, Relu6                     Relu, Clip(0, 6)
//	Squeeze                         Squeeze (axes mapped to NCHW)
//	MatMul, _FusedMatMul            Gemm
//	Softmax                         Softmax on the last axis
//
// Four-dimensional activations are kept in NCHW inside the ONNX graph and
// their TensorFlow (NHWC) axes are mapped where an op names an axis; an
// output that is still four-dimensional is transposed back to NHWC. "SAME"
// padding is written as explicit pads computed from the known input size
// as TensorFlow computes them (the odd pixel at the end), or as
// auto_pad SAME_UPPER, which is the same rule, when the size is unknown.
//
// Any other op is an error naming the op and the node. The caller chooses
// the graph outputs: each names an ONNX output and the TensorFlow node whose
// value it carries, so an intermediate tensor (such as a feature vector
// before a classifier head) can be an output beside the final one.
//
// # Quantising
//
// Quantize turns a converted float model into ONNX's QDQ form, which ONNX
// Runtime's CPU provider fuses into integer kernels (QLinearConv,
// QLinearAdd; u8 x s8 products, AVX-512 VNNI where the CPU has it):
//
//	Conv weights    int8, symmetric, one scale per output channel (max |w| / 127)
//	Conv bias       int32 at input scale x weight scale, zero point 0
//	activations     uint8, asymmetric; the range always holds 0
//	Relu6 output    range [0, 6]; the Clip is dropped (QuantizeLinear saturates)
//
// Activations are quantised where they are read: the inputs of each Conv,
// both operands of each residual Add, and the input of an average pool;
// the rest of the graph (the input scaling, the pool, the head) stays
// float. The ranges of the activations that are not Relu6 outputs (the
// input after scaling, the linear bottlenecks, the residual sums) come from
// calibration: CalibrationModel adds a per-image minimum and maximum of
// each such tensor as one output, and Calibrate runs it over a set of
// images through the brain's own image pipeline and keeps the extremes,
// widened by RoundRange so that last-bit differences between runs or CPUs
// do not change the stored ranges. The same images give the same file.
package tfjs
