#!/usr/bin/env bash
# Rewrite brain/tfjs/testdata/golden-tfjs.json with TensorFlow.js itself:
# @tensorflow/tfjs@4.22.0 and its wasm backend (the wasm is inside the npm
# package, so nothing else is downloaded) run nsfwjs's MobileNetV2, as
# `make setup` cached it, on the PNGs in brain/tfjs/testdata. The npm
# packages are installed once into fosql's cache, without install scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
tfjs=4.22.0
base=${XDG_CACHE_HOME:-$HOME/.cache}/fosql
model=${FOSQL_MODELS:-$base/models}/mobilenet-v2/tfjs
node_dir=$base/node/tfjs-$tfjs
[ -s "$model/model.min.js" ] || { echo "golden: nsfwjs's model is not in the cache: run make setup" >&2; exit 1; }
command -v node >/dev/null || { echo "golden: node is needed (apt-get install nodejs npm)" >&2; exit 1; }
if [ ! -d "$node_dir/node_modules/@tensorflow/tfjs-backend-wasm" ]; then
  mkdir -p "$node_dir"
  npm install --silent --ignore-scripts --no-audit --no-fund --prefix "$node_dir" \
    "@tensorflow/tfjs@$tfjs" "@tensorflow/tfjs-backend-wasm@$tfjs" >/dev/null
fi
out=brain/tfjs/testdata/golden-tfjs.json
NODE_PATH=$node_dir/node_modules node scripts/golden-tfjs.js "$model" "$out.part" \
  brain/tfjs/testdata/shapes.png brain/tfjs/testdata/texture.png brain/tfjs/testdata/scene.png
mv "$out.part" "$out"
echo "golden: $out"
