//! SIMD lane implementations for `wide` vectors (filled in by the CPU SIMD backend work).
