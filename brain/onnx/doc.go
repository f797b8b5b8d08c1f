// Package onnx holds the Go types of the ONNX model format (ModelProto,
// GraphProto, NodeProto, TensorProto and the rest), generated from ONNX's
// own schema, onnx.proto3 in this folder. brain writes and reads ONNX
// graphs with them (the built-in descriptor, the k-NN graph, a model
// file's inputs and outputs) and brain/tfjs converts TensorFlow.js models
// into them; ONNX Runtime runs the serialised bytes.
//
// They depend on the protobuf runtime alone, so a process that only
// queries a database starts without initialising anything more. To
// regenerate after changing onnx.proto3 (Debian's protobuf-compiler and
// protoc-gen-go of the protobuf version in go.mod):
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go
//	go generate ./brain/onnx
package onnx

//go:generate protoc --go_out=. --go_opt=paths=source_relative onnx.proto3
