//! Removal of the temporary output files when the process is killed by SIGINT, SIGTERM or
//! SIGHUP. The handler deletes the registered files and re-raises the signal with its default
//! action, so an interrupted run still stops at once (during the computation too) and its
//! exit status still says which signal ended it; only the half-written file is gone.
//!
//! Also the check that standard output was open when the process started: the Rust runtime
//! silently puts /dev/null on a closed one, and the results would be lost without a word.
//! Elsewhere than on unix, both are no-ops.

#[cfg(unix)]
pub(crate) use unix::{register, stdout_was_closed};

#[cfg(not(unix))]
pub(crate) use fallback::{register, stdout_was_closed};

#[cfg(unix)]
mod unix {
    use std::ffi::{CString, c_char, c_int};
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::ptr::null_mut;
    use std::sync::Once;
    use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

    /// The temporary files (the output and the summary), as C strings that are never freed
    /// (the handler may read them at any time).
    static FILES: [AtomicPtr<c_char>; 2] = [const { AtomicPtr::new(null_mut()) }; 2];

    extern "C" fn on_signal(sig: c_int) {
        for slot in &FILES {
            let p = slot.load(Ordering::SeqCst);
            if !p.is_null() {
                // SAFETY: `p` is a leaked, NUL-terminated CString; unlink, signal and raise
                // are async-signal-safe.
                unsafe { libc::unlink(p) };
            }
        }
        // SAFETY: as above.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
    }

    /// Deletes `path` should a terminating signal arrive; installs the handler the first
    /// time (not for signals the parent set to be ignored, as for `nohup`).
    pub fn register(path: &Path) {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                // SAFETY: plain sigaction calls on zero-initialised structs; the handler
                // only calls async-signal-safe functions.
                unsafe {
                    let mut old: libc::sigaction = std::mem::zeroed();
                    if libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                        && old.sa_sigaction != libc::SIG_IGN
                    {
                        let mut new: libc::sigaction = std::mem::zeroed();
                        new.sa_sigaction = on_signal as extern "C" fn(c_int) as libc::sighandler_t;
                        libc::sigemptyset(&mut new.sa_mask);
                        libc::sigaction(sig, &new, std::ptr::null_mut());
                    }
                }
            }
        });
        let Ok(c) = CString::new(path.as_os_str().as_bytes()) else { return };
        let p = c.into_raw();
        // The first free slot (there are at most two outputs).
        let _ = FILES
            .iter()
            .any(|slot| slot.compare_exchange(null_mut(), p, Ordering::SeqCst, Ordering::SeqCst).is_ok());
    }

    /// Whether file descriptor 1 was closed when the process started. The Rust runtime
    /// then opens /dev/null on it before `main`, so that writes "succeed" and the output
    /// would be lost without a word: this is checked earlier, from the ELF `.init_array`
    /// (Mach-O `__mod_init_func`), where a closed descriptor still shows.
    pub fn stdout_was_closed() -> bool {
        STDOUT_CLOSED.load(Ordering::Relaxed)
    }

    static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

    extern "C" fn probe_stdout() {
        // SAFETY: F_GETFD on a descriptor number only reads its flags.
        if unsafe { libc::fcntl(1, libc::F_GETFD) } == -1 {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
        }
    }

    #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
    #[used]
    #[cfg_attr(any(target_os = "linux", target_os = "android"), unsafe(link_section = ".init_array"))]
    #[cfg_attr(target_vendor = "apple", unsafe(link_section = "__DATA,__mod_init_func"))]
    static PROBE_STDOUT: extern "C" fn() = probe_stdout;
}

#[cfg(not(unix))]
mod fallback {
    pub fn register(_: &std::path::Path) {}
    pub fn stdout_was_closed() -> bool {
        false
    }
}
