//! The default stream and events. Every call completes before it returns, so the stream
//! is only a handle to validate and an event is the host time it was recorded.

use std::collections::BTreeMap;
use std::ffi::{c_uint, c_void};
use std::sync::Mutex;
use std::time::Instant;

use crate::{CUresult, code, enter, lock, put, status};

/// `CU_EVENT_DISABLE_TIMING`.
const EVENT_DISABLE_TIMING: c_uint = 0x2;

/// Checks that `stream` is the default stream: null, `CU_STREAM_LEGACY` (0x1) or
/// `CU_STREAM_PER_THREAD` (0x2); simlanes creates no other.
pub(crate) fn check_stream(stream: *mut c_void) -> Result<(), CUresult> {
    if stream as usize <= 2 { Ok(()) } else { Err(code::INVALID_HANDLE) }
}

/// `cuStreamSynchronize`: nothing is pending; the sticky error, if any.
#[unsafe(no_mangle)]
pub extern "C" fn cuStreamSynchronize(stream: *mut c_void) -> CUresult {
    status(enter().and_then(|()| check_stream(stream)))
}

/// An event: whether it times, and the host time it was last recorded.
struct Event {
    timing: bool,
    recorded: Option<Instant>,
}

/// Live events by handle (a number, never dereferenced), and the last handle given out.
static EVENTS: Mutex<(BTreeMap<usize, Event>, usize)> = Mutex::new((BTreeMap::new(), 0));

/// Runs `f` on the live event `event`.
fn with_event<T>(event: *mut c_void, f: impl FnOnce(&mut Event) -> T) -> Result<T, CUresult> {
    lock(&EVENTS).0.get_mut(&(event as usize)).map(f).ok_or(code::INVALID_HANDLE)
}

/// Destroys every live event (the context is being destroyed): how many there were.
pub(crate) fn release_all_events() -> usize {
    std::mem::take(&mut lock(&EVENTS).0).len()
}

/// `cuEventCreate`: timing unless `CU_EVENT_DISABLE_TIMING`.
///
/// # Safety
/// `event` is null or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cuEventCreate(event: *mut *mut c_void, flags: c_uint) -> CUresult {
    status(enter().and_then(|()| {
        if event.is_null() {
            return Err(code::INVALID_VALUE);
        }
        let (live, last) = &mut *lock(&EVENTS);
        *last += 1;
        live.insert(*last, Event { timing: flags & EVENT_DISABLE_TIMING == 0, recorded: None });
        // SAFETY: non-null and writable (the caller's contract).
        unsafe { put(event, *last as *mut c_void) }
    }))
}

/// `cuEventDestroy_v2`. Destroys even with a sticky error in the context, then reports it.
#[unsafe(no_mangle)]
pub extern "C" fn cuEventDestroy_v2(event: *mut c_void) -> CUresult {
    status(crate::initialized().and_then(|()| {
        lock(&EVENTS).0.remove(&(event as usize)).ok_or(code::INVALID_HANDLE)?;
        crate::sticky()
    }))
}

/// `cuEventRecord`: the host time now (all earlier work is done).
#[unsafe(no_mangle)]
pub extern "C" fn cuEventRecord(event: *mut c_void, stream: *mut c_void) -> CUresult {
    status(
        enter()
            .and_then(|()| check_stream(stream))
            .and_then(|()| with_event(event, |e| e.recorded = Some(Instant::now()))),
    )
}

/// `cuEventSynchronize`: complete once recorded (or never recorded).
#[unsafe(no_mangle)]
pub extern "C" fn cuEventSynchronize(event: *mut c_void) -> CUresult {
    status(enter().and_then(|()| with_event(event, |_| ())))
}

/// `cuEventElapsedTime`: host milliseconds from `start`'s record to `end`'s.
/// `CUDA_ERROR_INVALID_HANDLE` if either was never recorded or does not time.
///
/// # Safety
/// `ms` is null or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cuEventElapsedTime(ms: *mut f32, start: *mut c_void, end: *mut c_void) -> CUresult {
    let recorded = |e: &mut Event| e.recorded.filter(|_| e.timing).ok_or(code::INVALID_HANDLE);
    status(enter().and_then(|()| {
        let (t0, t1) = (with_event(start, recorded)??, with_event(end, recorded)??);
        let secs = match t1.checked_duration_since(t0) {
            Some(d) => d.as_secs_f64(),
            None => -t0.duration_since(t1).as_secs_f64(),
        };
        // SAFETY: the caller's contract.
        unsafe { put(ms, (secs * 1e3) as f32) }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::tests::Ctx;

    #[test]
    fn events_time_on_the_host() {
        let _ctx = Ctx::open();
        let (mut a, mut b, mut off) = (std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut());
        let mut ms = 0f32;
        let null = std::ptr::null_mut();
        // SAFETY: valid out-pointers; handles from the stand-in.
        unsafe {
            assert_eq!(cuEventCreate(&mut a, 0), 0);
            assert_eq!(cuEventCreate(&mut b, 0), 0);
            assert_eq!(cuEventCreate(&mut off, EVENT_DISABLE_TIMING), 0);
            assert_eq!(cuEventElapsedTime(&mut ms, a, b), code::INVALID_HANDLE);
            assert_eq!(cuEventRecord(a, null), 0);
            std::thread::sleep(std::time::Duration::from_millis(20));
            assert_eq!(cuEventRecord(b, null), 0);
            assert_eq!(cuEventRecord(off, null), 0);
            assert_eq!(cuEventRecord(b, 12345usize as *mut c_void), code::INVALID_HANDLE);
            assert_eq!(cuEventSynchronize(b), 0);
            assert_eq!(cuEventElapsedTime(&mut ms, a, b), 0);
            assert!((20.0..2000.0).contains(&ms), "{ms}");
            assert_eq!(cuEventElapsedTime(&mut ms, a, off), code::INVALID_HANDLE);
            assert_eq!(cuStreamSynchronize(null), 0);
            assert_eq!(cuStreamSynchronize(12345usize as *mut c_void), code::INVALID_HANDLE);
            for e in [a, b, off] {
                assert_eq!(cuEventDestroy_v2(e), 0);
            }
            assert_eq!(cuEventSynchronize(a), code::INVALID_HANDLE);
            assert_eq!(cuEventDestroy_v2(a), code::INVALID_HANDLE);
        }
    }
}
