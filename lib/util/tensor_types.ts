/**
 * The tensor types of seqssl's API, by name: each is the tfjs type of the
 * same name (`@tensorflow/tfjs` 4.22), so values pass between seqssl and
 * tfjs unchanged. seqssl's signatures use these names, and mod.ts exports
 * them, so that the documented API names only documented types.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/** A tfjs tensor of any rank (`tf.Tensor`). */
export type Tensor = tf.Tensor;

/** A rank-0 tfjs tensor, e.g. a loss (`tf.Scalar`). */
export type Scalar = tf.Scalar;

/** A rank-1 tfjs tensor, e.g. `[B]` targets (`tf.Tensor1D`). */
export type Tensor1D = tf.Tensor1D;

/** A rank-2 tfjs tensor, e.g. `[B, d]` representations (`tf.Tensor2D`). */
export type Tensor2D = tf.Tensor2D;

/** A rank-3 tfjs tensor, e.g. `[B, L, d]` hidden states (`tf.Tensor3D`). */
export type Tensor3D = tf.Tensor3D;

/** A trainable (or frozen) tfjs tensor: a model parameter (`tf.Variable`). */
export type Variable = tf.Variable;
