//! Loops compiled for the processor's wider vectors.
//!
//! The project builds for the baseline x86-64 instruction set (SSE2, four f32 lanes), so that one
//! binary runs on every machine; `matrixmultiply` picks AVX2 kernels at run time, but our own
//! loops (a layer's bias and `tanh`, the reconstruction features and their backward pass) stayed
//! at four lanes. A function declared with [`wide_fn!`](crate::wide_fn) is compiled twice, once
//! for the baseline and once with AVX2 and FMA, and runs the second where the processor has them.
//!
//! The results do not change: the same operations in the same order per element (Rust never
//! fuses `a * b + c` into one FMA on its own, and a sum is not reordered), only more elements at
//! a time.

/// Whether this processor runs the AVX2 and FMA version of a [`wide_fn!`](crate::wide_fn).
#[inline]
pub fn has_wide_vectors() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `wide_fn! { /// docs \n pub fn name(arg: Type, …) -> Ret { body } }` declares `name`, whose
/// body is compiled for the baseline and for AVX2 + FMA (x86-64), the second run where the
/// processor has them ([`has_wide_vectors`]). The body is inlined into both, so the loops it
/// holds, and the functions it calls that are inlined there (mark them `#[inline(always)]`, as
/// [`tanh_f32`](crate::tanh_f32) is), are compiled for each.
#[macro_export]
macro_rules! wide_fn {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                if $crate::has_wide_vectors() {
                    // SAFETY: the processor has the features `avx2` is compiled for.
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}

#[cfg(test)]
mod tests {
    crate::wide_fn! {
        fn tanh_then_affine(x: &[f32], out: &mut [f32]) {
            for (o, &v) in out.iter_mut().zip(x) {
                *o = crate::tanh_f32(v) * 1.5 + v;
            }
        }
    }

    /// The wide version gives the baseline's values bit for bit.
    #[test]
    fn wide_loops_give_the_baseline_values() {
        let x: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.013).collect();
        let plain: Vec<f32> = x.iter().map(|&v| crate::tanh_f32(v) * 1.5 + v).collect();
        let mut fast = vec![0.0; x.len()];
        tanh_then_affine(&x, &mut fast);
        assert_eq!(plain, fast);
    }
}
