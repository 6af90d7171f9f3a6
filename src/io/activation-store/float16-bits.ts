const single = new Float32Array(1);
const singleBits = new Uint32Array(single.buffer);

/**
 * The IEEE half-precision bits nearest to `value` (round to nearest, ties to even, as NumPy's astype(float16)):
 * too large becomes infinity, too small a subnormal or zero, NaN stays NaN. Node 20 has no Float16Array.
 */
export function float32ToHalfBits(value: number): number {
  single[0] = value;
  const bits = singleBits[0] as number;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    // Subnormal: the implicit leading 1 joins the mantissa, shifted down to the half's fixed exponent.
    return sign | roundedShift(mantissa | 0x800000, 14 - halfExponent);
  }
  // A carry out of the mantissa rounds up into the exponent, which is the right result (up to infinity).
  return (sign | (halfExponent << 10)) + roundedShift(mantissa, 13);
}

/** `value >> shift`, rounded to nearest with ties to even. */
function roundedShift(value: number, shift: number): number {
  const kept = value >>> shift;
  const rest = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept;
}

/** `values` as half-precision bits. */
export function float32ArrayToHalf(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToHalfBits(values[i] as number);
  return out;
}
