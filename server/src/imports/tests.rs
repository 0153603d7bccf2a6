use super::job::*;
use proptest::prelude::*;

/// Runs a reader over `bytes` (in chunks of `chunk`) the way the job does; returns
/// the items' lines and the reason it stopped early, if it did.
fn run(
    bytes: &[u8],
    chunk: usize,
    reader: fn(tokio::sync::mpsc::Receiver<Vec<u8>>, Sink),
) -> (Vec<u64>, Option<String>) {
    let (bytes_in, bytes_out) = tokio::sync::mpsc::channel::<Vec<u8>>(2);
    let (items_in, mut items_out) = tokio::sync::mpsc::channel(2);
    let thread = std::thread::spawn(move || reader(bytes_out, items_in));
    let parts: Vec<Vec<u8>> = bytes.chunks(chunk.max(1)).map(<[u8]>::to_vec).collect();
    let feeder = std::thread::spawn(move || {
        for part in parts {
            if bytes_in.blocking_send(part).is_err() {
                break; // the reader stopped
            }
        }
    });
    let (mut lines, mut stopped) = (Vec::new(), None);
    while let Some(batch) = items_out.blocking_recv() {
        match batch {
            Ok(items) => lines.extend(items.iter().map(|item| item.line)),
            Err(reason) => stopped = Some(reason),
        }
    }
    thread.join().unwrap();
    feeder.join().unwrap();
    (lines, stopped)
}

fn health_file(kinds: &[usize]) -> String {
    let types = [
        "HKQuantityTypeIdentifierStepCount",
        "HKQuantityTypeIdentifierFlightsClimbed",
        "HKCategoryTypeIdentifierSleepAnalysis",
    ];
    let mut file = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE HealthData [\n<!ELEMENT HealthData (Record*)>\n]>\n<HealthData locale=\"en_US\">\n");
    for (n, kind) in kinds.iter().enumerate() {
        file.push_str(&format!(
            " <Record type=\"{}\" unit=\"count\" startDate=\"2026-11-01 07:{:02}:00 -0800\" endDate=\"2026-11-01 08:00:00 -0800\" value=\"{n}\">\n  <MetadataEntry key=\"k\" value=\"&amp;\"/>\n </Record>\n",
            types[kind % 3],
            n % 60
        ));
    }
    file.push_str("</HealthData>\n");
    file
}

proptest! {
    #[test]
    fn every_record_of_an_export_is_read_whatever_the_chunking(
        kinds in proptest::collection::vec(0usize..3, 0..300),
        chunk in 1usize..5000,
    ) {
        let file = health_file(&kinds);
        let (lines, stopped) = run(file.as_bytes(), chunk, read_health);
        prop_assert_eq!(stopped, None);
        prop_assert_eq!(lines, (1..=kinds.len() as u64).collect::<Vec<_>>());
    }

    #[test]
    fn any_bytes_end_in_items_or_a_reason_never_a_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..3000),
        chunk in 1usize..700,
    ) {
        let _ = run(&bytes, chunk, read_health);
        let _ = run(&bytes, chunk, |source, sink| read_rows(source, sink, b','));
    }

    #[test]
    fn a_cut_export_says_so(kinds in proptest::collection::vec(0usize..3, 1..50), cut in 0.0f64..0.97) {
        let file = health_file(&kinds);
        let end = ((file.len() as f64) * cut) as usize;
        let (_, stopped) = run(&file.as_bytes()[..end], 512, read_health);
        prop_assert!(stopped.is_some());
    }

    #[test]
    fn csv_rows_keep_their_lines_across_chunks(rows in 1usize..400, chunk in 1usize..300) {
        let mut file = String::from("time,steps\n");
        for n in 0..rows {
            file.push_str(&format!("2026-11-01,\"{n}\nwith a line break\"\n"));
        }
        let (lines, stopped) = run(file.as_bytes(), chunk, |source, sink| read_rows(source, sink, b','));
        prop_assert_eq!(stopped, None);
        // The header is line 1; each row takes two lines.
        let expected: Vec<u64> = std::iter::once(1).chain((0..rows as u64).map(|n| 2 + 2 * n)).collect();
        prop_assert_eq!(lines, expected);
    }
}
