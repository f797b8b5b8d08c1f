#!/usr/bin/env node
// Write the golden outputs of nsfwjs's MobileNetV2 (mobilenet_v2_mid) as
// TensorFlow.js computes them, for brain/tfjs's golden test.
//
//   node scripts/golden-tfjs.js MODEL_DIR OUT.json IMAGE.png...
//
// MODEL_DIR holds model.min.js and its group1-shard*.min.js files from the
// npm package nsfwjs@4.4.0; NODE_PATH must reach @tensorflow/tfjs@4.22.0
// and @tensorflow/tfjs-backend-wasm@4.22.0 (scripts/golden-tfjs.sh sets
// both up). Each image must be an 8-bit RGB or RGBA PNG of 224x224: its
// levels divided by 255 are the model input, so no resizing is involved.
// For each image the file records the 1792-d feature (the node
// .../feature_vector/SpatialSqueeze) and the 5 class scores (Identity).
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const tf = require('@tensorflow/tfjs');
require('@tensorflow/tfjs-backend-wasm');

const FEATURE = 'StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/StatefulPartitionedCall/' +
  'StatefulPartitionedCall/predict/feature_vector/SpatialSqueeze';
const SCORES = 'Identity';
const SIZE = 224;

// decodePNG reads a non-interlaced 8-bit RGB or RGBA PNG into RGB bytes.
function decodePNG(buf) {
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let off = 8, width = 0, height = 0, channels = 0;
  const idat = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const depth = data[8], color = data[9], interlace = data[12];
      if (depth !== 8 || (color !== 2 && color !== 6) || interlace !== 0) {
        throw new Error(`unsupported PNG (depth ${depth}, colour type ${color}, interlace ${interlace})`);
      }
      channels = color === 2 ? 3 : 4;
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      break;
    }
    off += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const px = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? px[y * stride + x - channels] : 0;
      const b = y > 0 ? px[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? px[(y - 1) * stride + x - channels] : 0;
      let pred;
      switch (filter) {
        case 0: pred = 0; break;
        case 1: pred = a; break;
        case 2: pred = b; break;
        case 3: pred = (a + b) >> 1; break;
        case 4: {
          const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: throw new Error(`bad PNG filter ${filter}`);
      }
      px[y * stride + x] = (src[x] + pred) & 0xff;
    }
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    for (let k = 0; k < 3; k++) rgb[3 * i + k] = px[channels * i + k];
  }
  return { width, height, rgb };
}

async function main() {
  const [modelDir, out, ...images] = process.argv.slice(2);
  if (!modelDir || !out || images.length === 0) {
    throw new Error('usage: golden-tfjs.js MODEL_DIR OUT.json IMAGE.png...');
  }
  await tf.setBackend('wasm');
  await tf.ready();
  const modelJSON = require(path.resolve(modelDir, 'model.min.js'));
  const shards = [];
  for (const group of modelJSON.weightsManifest) {
    for (const p of group.paths) {
      shards.push(Buffer.from(require(path.resolve(modelDir, p + '.min.js')), 'base64'));
    }
  }
  const weights = Buffer.concat(shards);
  const model = await tf.loadGraphModel({
    load: async () => ({
      modelTopology: modelJSON.modelTopology,
      format: modelJSON.format,
      generatedBy: modelJSON.generatedBy,
      convertedBy: modelJSON.convertedBy,
      userDefinedMetadata: modelJSON.userDefinedMetadata,
      weightSpecs: modelJSON.weightsManifest.flatMap((g) => g.weights),
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    }),
  });
  const round = (v) => Number(v.toPrecision(8));
  const results = [];
  for (const file of images) {
    const img = decodePNG(fs.readFileSync(file));
    if (img.width !== SIZE || img.height !== SIZE) throw new Error(`${file}: ${img.width}x${img.height}, want ${SIZE}x${SIZE}`);
    const input = new Float32Array(img.rgb.length);
    for (let i = 0; i < input.length; i++) input[i] = img.rgb[i] / 255;
    const [feature, scores] = model.execute(tf.tensor4d(input, [1, SIZE, SIZE, 3]), [FEATURE, SCORES]);
    results.push({
      image: path.basename(file),
      embedding: Array.from(await feature.data(), round),
      scores: Array.from(await scores.data(), round),
    });
    tf.dispose([feature, scores]);
  }
  const doc = {
    source: 'nsfwjs@4.4.0 dist/models/mobilenet_v2_mid',
    tfjs: tf.version.tfjs,
    backend: tf.getBackend(),
    feature_node: FEATURE,
    scores_node: SCORES,
    input: 'RGB levels / 255, NHWC [1,224,224,3]',
    images: results,
  };
  fs.writeFileSync(out, JSON.stringify(doc) + '\n');
}

main().catch((err) => {
  console.error('golden-tfjs:', err.message);
  process.exit(1);
});
