/**
 * Xception written by hand with tf.layers, as Keras applications writes it: the reference the
 * compiled model is timed against (issue goal: compiled / hand-written <= 1.02).
 */
import * as tf from "@tensorflow/tfjs";

type T = tf.SymbolicTensor;
const ap = (l: tf.layers.Layer, x: T | T[]) => l.apply(x) as T;

function sep(x: T, filters: number): T {
  x = ap(tf.layers.separableConv2d({ filters, kernelSize: 3, padding: "same", useBias: false }), x);
  return ap(tf.layers.batchNormalization({}), x);
}

export function handWrittenXception(size = 299, classes = 1000): tf.LayersModel {
  const input = tf.input({ shape: [size, size, 3] });
  let x = ap(tf.layers.conv2d({ filters: 32, kernelSize: 3, strides: 2, useBias: false }), input);
  x = ap(tf.layers.activation({ activation: "relu" }), ap(tf.layers.batchNormalization({}), x));
  x = ap(tf.layers.conv2d({ filters: 64, kernelSize: 3, useBias: false }), x);
  x = ap(tf.layers.activation({ activation: "relu" }), ap(tf.layers.batchNormalization({}), x));
  for (const [i, filters] of [128, 256, 728].entries()) {
    let residual = ap(
      tf.layers.conv2d({ filters, kernelSize: 1, strides: 2, padding: "same", useBias: false }),
      x,
    );
    residual = ap(tf.layers.batchNormalization({}), residual);
    if (i > 0) x = ap(tf.layers.activation({ activation: "relu" }), x);
    x = sep(x, filters);
    x = ap(tf.layers.activation({ activation: "relu" }), x);
    x = sep(x, filters);
    x = ap(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: "same" }), x);
    x = ap(tf.layers.add({}), [x, residual]);
  }
  for (let i = 0; i < 8; i++) {
    const residual = x;
    for (let j = 0; j < 3; j++) x = sep(ap(tf.layers.activation({ activation: "relu" }), x), 728);
    x = ap(tf.layers.add({}), [x, residual]);
  }
  let residual = ap(
    tf.layers.conv2d({ filters: 1024, kernelSize: 1, strides: 2, padding: "same", useBias: false }),
    x,
  );
  residual = ap(tf.layers.batchNormalization({}), residual);
  x = sep(ap(tf.layers.activation({ activation: "relu" }), x), 728);
  x = sep(ap(tf.layers.activation({ activation: "relu" }), x), 1024);
  x = ap(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: "same" }), x);
  x = ap(tf.layers.add({}), [x, residual]);
  x = ap(tf.layers.activation({ activation: "relu" }), sep(x, 1536));
  x = ap(tf.layers.activation({ activation: "relu" }), sep(x, 2048));
  x = ap(tf.layers.globalAveragePooling2d({}), x);
  x = ap(tf.layers.dropout({ rate: 0.5 }), x);
  x = ap(tf.layers.dense({ units: classes, activation: "softmax" }), x);
  return tf.model({ inputs: input, outputs: x });
}
