//! The loop clock: `CLOCK_MONOTONIC`, read the same way CPython reads it.
//!
//! Invariants:
//! - [`monotonic`] returns exactly the `float` that `time.monotonic()` would return for the same
//!   reading of the clock: the nanosecond count is converted as CPython's `_PyTime_AsSecondsDouble`
//!   converts it (an exact integer division when the count is a whole number of seconds, else the
//!   count as `f64` divided by `1e9`).
//! - [`resolution`] equals `time.get_clock_info('monotonic').resolution`
//!   (`tv_sec + tv_nsec * 1e-9` of `clock_getres`).
//! - `CLOCK_MONOTONIC` cannot fail on Linux; should the call ever fail, the functions return 0
//!   instead of panicking.

const NS_PER_SEC: i64 = 1_000_000_000;

fn zero_timespec() -> libc::timespec {
    libc::timespec { tv_sec: 0, tv_nsec: 0 }
}

/// The monotonic clock in nanoseconds (`clock_gettime(CLOCK_MONOTONIC)`).
pub fn monotonic_ns() -> i64 {
    let mut ts = zero_timespec();
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return 0;
    }
    // `time_t` and `c_long` are narrower than i64 on 32-bit targets.
    #[allow(clippy::useless_conversion)]
    let (secs, nanos) = (i64::from(ts.tv_sec), i64::from(ts.tv_nsec));
    secs.saturating_mul(NS_PER_SEC).saturating_add(nanos)
}

/// Converts nanoseconds to seconds exactly as CPython's `_PyTime_AsSecondsDouble` does.
pub fn ns_to_seconds(ns: i64) -> f64 {
    if ns % NS_PER_SEC == 0 {
        // Integer division first: 1e-9 has no exact binary representation.
        (ns / NS_PER_SEC) as f64
    } else {
        ns as f64 / 1e9
    }
}

/// The monotonic clock in seconds, bit-identical to Python's `time.monotonic()`.
pub fn monotonic() -> f64 {
    ns_to_seconds(monotonic_ns())
}

/// The resolution of `CLOCK_MONOTONIC` in seconds (`time.get_clock_info('monotonic').resolution`).
pub fn resolution() -> f64 {
    let mut ts = zero_timespec();
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_getres(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn conversion_matches_cpython() {
        assert_eq!(ns_to_seconds(0), 0.0);
        assert_eq!(ns_to_seconds(3 * NS_PER_SEC), 3.0);
        assert_eq!(ns_to_seconds(-2 * NS_PER_SEC), -2.0);
        assert_eq!(ns_to_seconds(1_500_000_000), 1.5);
        let ns = 123_456_789_012_345_i64;
        assert_eq!(ns_to_seconds(ns).to_bits(), (ns as f64 / 1e9).to_bits());
    }

    #[test]
    fn clock_moves_forward() {
        let a = monotonic_ns();
        let b = monotonic_ns();
        assert!(a > 0 && b >= a);
        assert!(monotonic() > 0.0);
    }

    #[test]
    fn resolution_is_small_and_positive() {
        let r = resolution();
        assert!(r > 0.0 && r <= 0.01, "{r}");
    }
}
