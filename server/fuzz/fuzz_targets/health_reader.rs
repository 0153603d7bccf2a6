//! The Apple Health reader on any bytes: it never panics, records are numbered 1, 2, …
//! with offsets inside the file, a file that never closes `HealthData` is an error, and what it
//! reads does not depend on how the bytes arrive.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod chunked;
#[path = "../../src/readers.rs"]
#[allow(dead_code)]
mod readers;

fuzz_target!(|input: &[u8]| {
    let Some((&choice, file)) = input.split_first() else {
        return;
    };
    let step = usize::from(choice) + 1;

    let (whole, whole_outcome) = chunked::read_both_ways(file, step, |source| {
        let mut records = Vec::new();
        let outcome = readers::health_records(source, |record| {
            records.push(record);
            true
        });
        (records, outcome)
    });
    for (index, record) in whole.iter().enumerate() {
        assert_eq!(record.ordinal, index as u64 + 1);
        assert!(record.offset <= file.len() as u64, "an offset past the end");
    }
    if whole_outcome.is_ok() {
        let closing = b"HealthData";
        assert!(
            file.windows(closing.len()).any(|w| w == closing),
            "a file that never names HealthData was read as complete"
        );
    }
});
