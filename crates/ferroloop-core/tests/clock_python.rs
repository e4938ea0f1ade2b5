//! The clock against the interpreter's own (skipped when no `python3` is on the path), and the
//! thread-safety of the types that cross threads.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use ferroloop_core::clock;

fn python(code: &str) -> Option<String> {
    let out = Command::new("python3").arg("-c").arg(code).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn resolution_equals_python() {
    let Some(text) = python("import time; print(time.get_clock_info('monotonic').resolution.hex())") else {
        return;
    };
    let theirs = f64::from_bits(hexfloat_bits(&text));
    assert_eq!(clock::resolution().to_bits(), theirs.to_bits(), "{text}");
}

#[test]
fn monotonic_is_the_same_clock_and_conversion() {
    let before = clock::monotonic();
    // Python reads the clock once and prints both the float and, for that float, the conversion
    // of the nanosecond reading, which must agree with ours.
    let code = "import time; ns = time.monotonic_ns(); print(ns, (ns / 10**9).hex(), time.monotonic().hex())";
    let Some(text) = python(code) else {
        return;
    };
    let after = clock::monotonic();
    let parts: Vec<&str> = text.split_whitespace().collect();
    let ns: i64 = parts[0].parse().unwrap();
    let theirs = f64::from_bits(hexfloat_bits(parts[2]));
    assert!(before <= theirs && theirs <= after, "{before} <= {theirs} <= {after}");
    // `ns / 10**9` is correctly rounded, as is `ns as f64 / 1e9` for readings below 2^53 ns.
    assert_eq!(clock::ns_to_seconds(ns).to_bits(), hexfloat_bits(parts[1]));
}

/// Parses Python's `float.hex()` output for positive normal numbers (`0x1.8000000000000p-1`).
fn hexfloat_bits(text: &str) -> u64 {
    let rest = text.strip_prefix("0x1.").unwrap();
    let (mantissa, exp) = rest.split_once('p').unwrap();
    let mantissa = u64::from_str_radix(mantissa, 16).unwrap();
    let exp: i64 = exp.parse().unwrap();
    (((exp + 1023) as u64) << 52) | mantissa
}

#[test]
fn thread_crossing_types() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<ferroloop_core::Poller>();
    send::<ferroloop_core::Events>();
    send::<ferroloop_core::Inbox<String>>();
    sync::<ferroloop_core::Inbox<String>>();
    sync::<ferroloop_core::Waker>();
}
