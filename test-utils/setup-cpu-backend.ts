import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

// Every test runs on the pure-JS cpu backend: it needs no native install and
// computes in float32 exactly as written, which is what the numerical tests want.
tf.env().set('PROD', true); // silences the "install tfjs-node" banner
await tf.setBackend('cpu');
await tf.ready();
