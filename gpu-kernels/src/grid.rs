//! Where the calling thread sits in its 1-D grid: the only thing an entry point asks the
//! hardware.
//!
//! On the device these read the special registers. On the host the entry points run too
//! ([`crate::host`] launches them for the libcuda stand-in, `crates/cuda-stand-in`), and
//! there the position is the one [`crate::host::launch`] set for the host thread that is
//! running a grid thread. Either way an entry sees the same index, so the host runs the
//! very code the PTX is compiled from.

#[cfg(target_arch = "nvptx64")]
mod imp {
    use core::arch::nvptx;

    /// Global index of the calling thread (`blockIdx.x · blockDim.x + threadIdx.x`),
    /// widened to u64 so that it cannot wrap.
    #[inline(always)]
    pub fn thread_index() -> u64 {
        // SAFETY: reading %ctaid.x, %ntid.x, %tid.x has no preconditions in a kernel; their
        // values are non-negative.
        unsafe {
            (nvptx::_block_idx_x() as u64) * (nvptx::_block_dim_x() as u64) + nvptx::_thread_idx_x() as u64
        }
    }

    /// Threads in the grid (`gridDim.x · blockDim.x`).
    #[inline(always)]
    pub fn grid_threads() -> u64 {
        // SAFETY: reading %nctaid.x and %ntid.x has no preconditions in a kernel.
        unsafe { (nvptx::_grid_dim_x() as u64) * (nvptx::_block_dim_x() as u64) }
    }
}

#[cfg(not(target_arch = "nvptx64"))]
mod imp {
    use std::cell::Cell;

    std::thread_local! {
        /// `(thread index, grid threads)` of the grid thread this host thread is running.
        static POSITION: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    }

    /// Makes the calling host thread grid thread `index` of a grid of `threads`.
    pub(crate) fn enter(index: u64, threads: u64) {
        POSITION.with(|p| p.set((index, threads)));
    }

    /// Global index of the grid thread this host thread is running.
    #[inline]
    pub fn thread_index() -> u64 {
        POSITION.with(|p| p.get().0)
    }

    /// Threads in the grid this host thread is running.
    #[inline]
    pub fn grid_threads() -> u64 {
        POSITION.with(|p| p.get().1)
    }
}

#[cfg(not(target_arch = "nvptx64"))]
pub(crate) use imp::enter;
pub use imp::{grid_threads, thread_index};
