#!/usr/bin/env bash
# Prepare the pretrained CNN mobilenet-v2 once in fosql's cache.
#
# The npm package nsfwjs (MIT) ships TF-Hub's MobileNetV2 (width 1.4) as a
# TensorFlow.js graph model. `npm pack` downloads only its tarball (no
# install scripts run); the tarball's sha256 is checked, the model files are
# unpacked to $cache/tfjs, and fosql's converter (fosql convert-tfjs) writes
# $cache/mobilenet-v2.onnx with two outputs, `embedding` (the 1792-d pooled
# feature) and `scores` (the 5 classes of nsfwjs's head), and its model spec
# beside it; it also writes $cache/mobilenet-v2-any-size.onnx, the same
# network converted to accept any input size (convert-tfjs -any-size), which
# `fosql quality` uses for methods such as mobilenet-v2@160; and
# $cache/mobilenet-v2-int8.onnx, the int8 form (convert-tfjs -int8: QDQ
# quantisation with activation ranges calibrated on 256 images of fosql's
# own synthetic set, generated offline; the same bytes on every run), the
# zoo model mobilenet-v2-int8. A second run finds them and does nothing. The model folder is
# $FOSQL_MODELS when set, as for fosql itself.
set -euo pipefail
cd "$(dirname "$0")/.."
version=4.4.0
sha256=585cd178f3b994337c4d10a87b080d342fc52f8b9bf0085c4d1f345a3a1c5382
cache=${FOSQL_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/fosql/models}/mobilenet-v2
onnx=$cache/mobilenet-v2.onnx
spec=$onnx.json
anysize=$cache/mobilenet-v2-any-size.onnx
int8=$cache/mobilenet-v2-int8.onnx
feature=StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/StatefulPartitionedCall/StatefulPartitionedCall/predict/feature_vector/SpatialSqueeze
if [ -s "$onnx" ] && [ -s "$spec" ] && [ -s "$anysize" ] && [ -s "$int8" ] && [ -s "$cache/tfjs/model.min.js" ]; then
  echo "mobilenet-v2: $onnx"
  exit 0
fi
if [ ! -s "$cache/tfjs/model.min.js" ]; then
  command -v npm >/dev/null || { echo "setup: npm is needed to fetch nsfwjs@$version (apt-get install npm)" >&2; exit 1; }
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "nsfwjs@$version" >/dev/null) \
    || { echo "setup: could not fetch nsfwjs@$version from the npm registry (offline?); run make setup again with a network" >&2; exit 1; }
  got=$(sha256sum "$tmp/nsfwjs-$version.tgz" | cut -d' ' -f1)
  if [ "$got" != "$sha256" ]; then
    echo "setup: nsfwjs-$version.tgz has sha256 $got, want $sha256" >&2
    exit 1
  fi
  tar -xzf "$tmp/nsfwjs-$version.tgz" -C "$tmp" package/LICENSE package/dist/models/mobilenet_v2_mid
  mkdir -p "$cache"
  rm -rf "$cache/tfjs.part" "$cache/tfjs"
  mv "$tmp/package/dist/models/mobilenet_v2_mid" "$cache/tfjs.part"
  cp "$tmp/package/LICENSE" "$cache/tfjs.part/LICENSE"
  mv "$cache/tfjs.part" "$cache/tfjs"
fi
${GO:-go} run ./cmd/fosql convert-tfjs -in "$cache/tfjs" -out "$onnx" -output "embedding=$feature" -output scores=Identity
${GO:-go} run ./cmd/fosql convert-tfjs -any-size -in "$cache/tfjs" -out "$anysize" -output "embedding=$feature" -output scores=Identity
${GO:-go} run ./cmd/fosql convert-tfjs -int8 -in "$cache/tfjs" -out "$int8" -output "embedding=$feature" -output scores=Identity
cat >"$spec.part" <<JSON
{
  "name": "mobilenet-v2",
  "width": 224,
  "height": 224,
  "layout": "NHWC",
  "channels": "RGB",
  "mean": [0, 0, 0],
  "std": [1, 1, 1],
  "input": "input",
  "output": "embedding"
}
JSON
mv "$spec.part" "$spec"
echo "mobilenet-v2: $onnx"
