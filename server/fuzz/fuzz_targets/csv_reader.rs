//! The CSV reader on any bytes: it never panics, rows come in order with offsets inside
//! the file, and what it reads does not depend on how the bytes arrive.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod chunked;
#[path = "../../src/readers.rs"]
#[allow(dead_code)]
mod readers;

fuzz_target!(|input: &[u8]| {
    // The first bytes choose the delimiter and the chunk size; the rest is the file.
    let Some((&choice, file)) = input.split_first() else {
        return;
    };
    let delimiter = [b',', b';', b'\t', b'|'][usize::from(choice & 3)];
    let step = usize::from(choice >> 2) + 1;

    let (whole, whole_outcome) = chunked::read_both_ways(file, step, |source| {
        let mut rows = Vec::new();
        let outcome = readers::csv_rows(source, delimiter, |row| {
            rows.push(row);
            true
        });
        (rows, outcome)
    });
    for pair in whole.windows(2) {
        assert!(pair[0].line <= pair[1].line, "lines go back: {pair:?}");
        assert!(pair[0].offset < pair[1].offset, "offsets go back: {pair:?}");
    }
    if let Some(last) = whole.last() {
        assert!(last.offset <= file.len() as u64, "an offset past the end");
    }

    // A consumer that stops early gets no more rows and no error.
    if whole.len() > 1 {
        let mut seen = 0;
        let outcome = readers::csv_rows(&file[..], delimiter, |_| {
            seen += 1;
            false
        });
        assert_eq!(seen, 1);
        assert_eq!(outcome, Ok(()));
    }
});
