/**
 * NumPy `.npy` files (format version 1.0): the item table for
 * approximate-nearest-neighbour indexes (Faiss, ScaNN, hnswlib all read it
 * with `numpy.load`).
 *
 * @module
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * A little-endian float32 (`<f4`) or int32 (`<i4`) C-order array as `.npy`
 * bytes: magic, version 1.0, a header dict padded with spaces to a multiple
 * of 64 bytes, then the raw values.
 *
 * @example
 * ```ts
 * import { encodeNpy } from "./npy.ts";
 * const bytes = encodeNpy(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]);
 * const headerLen = bytes[8] | (bytes[9] << 8);
 * const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLen));
 * if (!header.includes("'shape': (2, 3)") || (10 + headerLen) % 64 !== 0) throw new Error(header);
 * if (new Float32Array(bytes.slice(10 + headerLen).buffer)[5] !== 6) throw new Error();
 * ```
 */
export function encodeNpy(
  values: Float32Array | Int32Array,
  shape: number[],
): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== values.length) {
    throw new RangeError(
      `npy: expected ${n} values for shape [${shape}], found ${values.length}`,
    );
  }
  const descr = values instanceof Float32Array ? "<f4" : "<i4";
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  let header =
    `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  const pad = 64 - ((MAGIC.length + 4 + header.length + 1) % 64);
  header += " ".repeat(pad % 64) + "\n";
  const head = new TextEncoder().encode(header);
  const out = new Uint8Array(MAGIC.length + 4 + head.length + n * 4);
  out.set(MAGIC, 0);
  out[6] = 1; // major version
  out[7] = 0;
  out[8] = head.length & 0xff;
  out[9] = head.length >> 8;
  out.set(head, 10);
  out.set(
    new Uint8Array(values.buffer, values.byteOffset, n * 4),
    10 + head.length,
  );
  return out;
}
