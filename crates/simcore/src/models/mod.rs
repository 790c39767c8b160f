//! Models: one file each, parameters in the paper's symbols, the math written once over
//! the lane type and shared by every backend.

pub mod binomial;
pub mod binomial_sorted;
pub mod connectivity;
pub mod heun;
pub mod jansen_rit;
pub mod mpr;
pub mod ou;
pub mod pi;
pub mod two_arm_z;
