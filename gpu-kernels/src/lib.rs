//! simlanes device kernels. Placeholder until the GPU backend lands: the kernel bodies
//! will live here, compiled to PTX for the device and to host code for the grid emulator.
#![no_std]
#![forbid(unsafe_code)]
