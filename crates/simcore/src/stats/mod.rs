//! Test statistics and the reference laws the workload checks use.
