//! The noise-source abstraction of the SDE and OU kernels: a sequence of standard normals
//! per lane, read in order.
//!
//! Why a trait: the models (`models::heun`, `models::ou`) are written once and must run
//! on simlanes' own Philox streams ([`NormalSeq`]) and on JAX-compatible streams
//! ([`crate::rng::jax::JaxNormals`]) alike; being generic over the source keeps one copy
//! of the math and lets the compiler monomorphise each path (the Philox path compiles to
//! the same code as before the trait existed).

use crate::lane::Real;
use crate::rng::NormalSeq;

/// A per-lane sequence of standard normals: each call returns the next normal of every
/// lane (lane `l` reads its own sequence).
pub trait NormalSource<L> {
    /// The next normal of every lane.
    fn next(&mut self) -> L;
}

impl<L: Real> NormalSource<L> for NormalSeq<L> {
    #[inline(always)]
    fn next(&mut self) -> L {
        NormalSeq::next(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    fn draw<S: NormalSource<f32>>(s: &mut S) -> f32 {
        s.next()
    }

    #[test]
    fn normal_seq_through_the_trait_is_the_inherent_sequence() {
        let s = Stream::<f32>::consecutive(3, 4);
        let (mut a, mut b) = (NormalSeq::new(s, 0), NormalSeq::new(s, 0));
        for _ in 0..9 {
            assert_eq!(draw(&mut a).to_bits(), b.next().to_bits());
        }
    }
}
