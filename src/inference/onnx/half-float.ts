/**
 * IEEE half -> single conversion. fp16 exports return fp16 logits, which onnxruntime-node hands back as raw
 * Uint16Array bits (Node 20 has no Float16Array); sampling needs numbers.
 */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

let table: Float32Array | null = null;

/** Every half's value (256 KiB, built on first use): a lookup per logit instead of a power per logit. */
function halfTable(): Float32Array {
  if (table === null) {
    table = new Float32Array(0x10000);
    for (let bits = 0; bits < 0x10000; bits++) table[bits] = halfToFloat(bits);
  }
  return table;
}

export function halfArrayToFloat32(bits: Uint16Array, start = 0, end = bits.length): Float32Array {
  const values = halfTable();
  const out = new Float32Array(end - start);
  for (let i = start; i < end; i++) out[i - start] = values[bits[i] ?? 0] ?? 0;
  return out;
}
