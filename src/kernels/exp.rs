//! A branch-free fp32 exp that compilers vectorise, for the log-sum-exp of search: Cephes'
//! `expf` (range reduction x = n ln 2 + r with ln 2 split in two parts, a degree-6 polynomial
//! for e^r on |r| ≤ ln 2 / 2, and 2^n built in the exponent bits). Within 2 ulp of libm's exp
//! on [-87, 88] (tested).

/// e^x for fp32 x ≤ 88.3; below −87.3 (where e^x leaves the normal range) it returns
/// e^−87.3 ≈ 1.2e-38 instead of a subnormal or 0, and NaN also gives that value (callers that
/// sum many terms do not notice the first; they check for NaN themselves).
#[allow(clippy::excessive_precision)]
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_375;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const P0: f32 = 1.987_569_15e-4;
    const P1: f32 = 1.398_199_95e-3;
    const P2: f32 = 8.333_451_9e-3;
    const P3: f32 = 4.166_579_59e-2;
    const P4: f32 = 1.666_666_55e-1;
    const P5: f32 = 5.000_000_12e-1;
    // `max`/`min` written as comparisons, so that NaN becomes the lower bound and they map to
    // vector instructions.
    let x = if x > -87.3 { x } else { -87.3 };
    let x = if x < 88.3 { x } else { 88.3 };
    let n = (x * LOG2E + 0.5).floor();
    let r = n.mul_add(-LN2_LO, n.mul_add(-LN2_HI, x));
    let mut p = r.mul_add(P0, P1);
    p = r.mul_add(p, P2);
    p = r.mul_add(p, P3);
    p = r.mul_add(p, P4);
    p = r.mul_add(p, P5);
    let y = (r * r).mul_add(p, r) + 1.0;
    // SAFETY: x is clamped to [-87.3, 88.3] (NaN to -87.3), so n is an integer in [-126, 128]:
    // finite and in range for i32. (A saturating `as` cast would not vectorise.)
    let n = unsafe { n.to_int_unchecked::<i32>() };
    y * f32::from_bits(((n + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    #[test]
    fn agrees_with_libm_to_two_ulp() {
        let mut worst = 0f32;
        let mut x = -87.0f32;
        while x < 88.0 {
            let (got, want) = (super::exp(x), x.exp());
            worst = worst.max(((got - want) / want).abs());
            x += 1.7e-3;
        }
        assert!(worst < 2.5e-7, "worst relative error {worst}");
        assert_eq!(super::exp(0.0), 1.0);
        assert!(super::exp(f32::NEG_INFINITY) < 2e-38);
        assert!(super::exp(f32::NAN) < 2e-38);
    }
}
