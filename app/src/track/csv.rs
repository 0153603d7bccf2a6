//! Reading members' CSV files: finding the delimiter and the header, guessing which
//! column holds what, and turning each row into entries for the landing table. Both
//! layouts people export are read: long (one row per reading: time, metric, value,
//! unit, note) and wide (one row per day or time, one column per metric, as
//! "Weight (lb)").

use super::entry::RawEntry;
use serde::{Deserialize, Serialize};

/// Delimiters tried, most common first.
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];
/// Rows shown in the preview.
pub const PREVIEW_ROWS: usize = 8;

/// What the start of a file says about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sniffed {
    pub delimiter: u8,
    pub headers: Vec<String>,
    /// The first rows after the header, for the preview.
    pub rows: Vec<Vec<String>>,
}

fn reader(bytes: &[u8], delimiter: u8) -> ::csv::Reader<&[u8]> {
    ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
}

/// Finds the delimiter (the one that splits the first rows into the same number of
/// columns, at least two) and reads the header and the first rows. `sample` is the
/// start of the file; a row cut at its end is left out.
pub fn sniff(sample: &[u8]) -> Result<Sniffed, String> {
    let sample = sample.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(sample);
    if sample.iter().all(u8::is_ascii_whitespace) {
        return Err("The file is empty.".into());
    }
    // A sample may end inside a character (`error_len` is None then); that is fine.
    if std::str::from_utf8(sample).is_err_and(|error| error.error_len().is_some()) {
        return Err("The file is not UTF-8 text; save it as CSV (UTF-8) and try again.".into());
    }
    // UTF-16 text (Excel's "Unicode text") reads as valid UTF-8 with a NUL after every
    // letter: refused as what it is. A NUL further on refuses only its own row.
    let first_line = sample.split(|&byte| byte == b'\n').next().unwrap_or(sample);
    if first_line.contains(&0) {
        return Err(
            "The file is not UTF-8 text (it looks like UTF-16); save it as CSV (UTF-8) and try again."
                .into(),
        );
    }
    let mut best: Option<(usize, u8)> = None;
    for delimiter in DELIMITERS {
        let mut counts = Vec::new();
        for record in reader(sample, delimiter).records().take(20) {
            match record {
                Ok(record) => counts.push(record.len()),
                Err(_) => break,
            }
        }
        let Some(&first) = counts.first() else {
            continue;
        };
        // The last row of a sample may be cut short.
        let whole = &counts[..counts.len().saturating_sub(1).max(1)];
        if first > 1 && whole.iter().all(|&count| count == first) {
            let score = whole.len() * 1000 + first;
            if best.is_none_or(|(best_score, _)| score > best_score) {
                best = Some((score, delimiter));
            }
        }
    }
    let delimiter = best.map_or(b',', |(_, delimiter)| delimiter);
    let mut records = reader(sample, delimiter).into_records();
    let headers: Vec<String> = match records.next() {
        Some(Ok(record)) => record
            .iter()
            .map(|field| field.trim().replace('\0', "\u{FFFD}"))
            .collect(),
        _ => return Err("The first line of the file could not be read as CSV.".into()),
    };
    if headers.len() < 2 {
        return Err(
            "The file needs at least two columns (a time and a value) with a header line.".into(),
        );
    }
    // The preview is shown and stored as JSON, which holds no NUL: shown as "�".
    let rows = records
        .take(PREVIEW_ROWS)
        .filter_map(Result::ok)
        .map(|record| {
            record
                .iter()
                .map(|cell| cell.replace('\0', "\u{FFFD}"))
                .collect()
        })
        .collect();
    Ok(Sniffed {
        delimiter,
        headers,
        rows,
    })
}

/// Which column holds what.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    pub time: Option<usize>,
    /// Long layout: the column naming the metric.
    pub metric: Option<usize>,
    /// Long layout: the column with the value.
    pub value: Option<usize>,
    pub unit: Option<usize>,
    pub note: Option<usize>,
    /// Wide layout: (column, metric key, unit written in the header or "").
    pub wide: Vec<(usize, String, String)>,
    /// The zone of times written without one.
    pub time_zone: String,
}

fn find(headers: &[String], names: &[&str]) -> Option<usize> {
    headers.iter().position(|header| {
        let header = header.trim().to_lowercase();
        names.contains(&header.as_str())
    })
}

/// "Weight (lb)" -> ("weight", "lb"); "Steps" -> ("steps", "").
pub fn split_header(header: &str) -> (String, String) {
    let header = header.trim();
    match (header.rfind('('), header.ends_with(')')) {
        (Some(open), true) => (
            header[..open].trim().to_lowercase(),
            header[open + 1..header.len() - 1].trim().to_string(),
        ),
        _ => (header.to_lowercase(), String::new()),
    }
}

/// A first guess at the mapping, from the header names; `metrics` are (key, name).
pub fn guess(headers: &[String], metrics: &[(String, String)], time_zone: &str) -> Mapping {
    let time = find(
        headers,
        &[
            "time",
            "date",
            "datetime",
            "timestamp",
            "date/time",
            "day",
            "when",
            "start",
            "start date",
            "observed at",
        ],
    );
    let metric = find(
        headers,
        &["metric", "type", "measure", "variable", "name", "kind"],
    );
    let value = find(
        headers,
        &["value", "amount", "quantity", "qty", "reading", "count"],
    );
    let unit = find(headers, &["unit", "units"]);
    let note = find(
        headers,
        &["note", "notes", "comment", "comments", "memo", "tags"],
    );
    let taken = [time, metric, value, unit, note];
    let wide = if metric.is_some() && value.is_some() {
        Vec::new()
    } else {
        headers
            .iter()
            .enumerate()
            .filter(|(index, _)| !taken.contains(&Some(*index)))
            .filter_map(|(index, header)| {
                let (name, unit) = split_header(header);
                let slug = name.replace([' ', '-'], "_");
                metrics
                    .iter()
                    .find(|(key, metric_name)| {
                        *key == slug || *key == name || metric_name.to_lowercase() == name
                    })
                    .map(|(key, _)| (index, key.clone(), unit))
            })
            .collect()
    };
    Mapping {
        time,
        metric: if wide.is_empty() { metric } else { None },
        value: if wide.is_empty() { value } else { None },
        unit: if wide.is_empty() { unit } else { None },
        note,
        wide,
        time_zone: time_zone.to_string(),
    }
}

impl Mapping {
    /// Whether the mapping can import anything, and if not what is missing.
    pub fn check(&self, columns: usize) -> Result<(), String> {
        let all = [self.time, self.metric, self.value, self.unit, self.note]
            .into_iter()
            .flatten()
            .chain(self.wide.iter().map(|(column, ..)| *column));
        if all.into_iter().any(|column| column >= columns) {
            return Err("A chosen column is not in the file.".into());
        }
        if self.time.is_none() {
            return Err("Choose the column with the date or time.".into());
        }
        let long = self.metric.is_some() && self.value.is_some();
        if !long && self.wide.is_empty() {
            return Err(
                "Choose a metric column and a value column, or at least one column to import as a metric."
                    .into(),
            );
        }
        Ok(())
    }

    /// The entries of one row: (a key for the row's entry, the entry) — one in the long
    /// layout, one per filled metric column in the wide layout (empty cells are no
    /// reading). Blank rows give none.
    pub fn entries(&self, record: &[&str]) -> Vec<(String, RawEntry)> {
        let cell = |column: Option<usize>| {
            column
                .and_then(|column| record.get(column))
                .map(|text| text.trim().to_string())
                .unwrap_or_default()
        };
        if record.iter().all(|field| field.trim().is_empty()) {
            return Vec::new();
        }
        let (at, note) = (cell(self.time), cell(self.note));
        if self.wide.is_empty() {
            return vec![(
                String::new(),
                RawEntry {
                    metric: cell(self.metric),
                    value: cell(self.value),
                    unit: cell(self.unit),
                    at,
                    time_zone: self.time_zone.clone(),
                    note,
                },
            )];
        }
        self.wide
            .iter()
            .filter_map(|(column, key, unit)| {
                let value = cell(Some(*column));
                (!value.is_empty()).then(|| {
                    (
                        format!(":{column}"),
                        RawEntry {
                            metric: key.clone(),
                            value,
                            unit: unit.clone(),
                            at: at.clone(),
                            time_zone: self.time_zone.clone(),
                            note: note.clone(),
                        },
                    )
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_utf16_file_is_refused_and_a_nul_further_on_is_shown_as_a_replacement() {
        let utf16: Vec<u8> = "time,steps\n2026-01-01,5\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let refused = sniff(&utf16).unwrap_err();
        assert!(refused.contains("UTF-16"), "{refused}");
        let sniffed = sniff(b"time,steps\n2026-01-01,5\0\n2026-01-02,6\n").unwrap();
        assert_eq!(sniffed.headers, ["time", "steps"]);
        assert_eq!(sniffed.rows[0], ["2026-01-01", "5\u{FFFD}"]);
        assert!(serde_json::to_string(&sniffed.rows)
            .unwrap()
            .chars()
            .all(|c| c != '\0'));
    }

    fn metrics() -> Vec<(String, String)> {
        [
            ("steps", "Steps"),
            ("weight", "Weight"),
            ("mood", "Mood"),
            ("resting_heart_rate", "Resting heart rate"),
        ]
        .iter()
        .map(|(k, n)| (k.to_string(), n.to_string()))
        .collect()
    }

    #[test]
    fn long_files_are_recognised() {
        let sniffed = sniff(b"\xEF\xBB\xBFDate;Metric;Value;Unit;Note\n2026-11-01;weight;154;lb;after run\n2026-11-02;mood;7;;\n").unwrap();
        assert_eq!(sniffed.delimiter, b';');
        assert_eq!(sniffed.headers, ["Date", "Metric", "Value", "Unit", "Note"]);
        assert_eq!(sniffed.rows.len(), 2);
        let mapping = guess(&sniffed.headers, &metrics(), "UTC");
        assert_eq!(
            (
                mapping.time,
                mapping.metric,
                mapping.value,
                mapping.unit,
                mapping.note
            ),
            (Some(0), Some(1), Some(2), Some(3), Some(4))
        );
        assert!(mapping.check(5).is_ok());
        let entries = mapping.entries(&["2026-11-01", "weight", "154", "lb", "after run"]);
        assert_eq!(entries.len(), 1);
        assert_eq!(
            (
                entries[0].1.metric.as_str(),
                entries[0].1.value.as_str(),
                entries[0].1.unit.as_str()
            ),
            ("weight", "154", "lb")
        );
    }

    #[test]
    fn wide_files_map_columns_to_metrics() {
        let sniffed = sniff(
            b"day\tSteps\tWeight (lb)\tResting heart rate\tNotes\n2026-11-01\t8000\t\t58\tok\n",
        )
        .unwrap();
        assert_eq!(sniffed.delimiter, b'\t');
        let mapping = guess(&sniffed.headers, &metrics(), "America/Los_Angeles");
        assert_eq!(mapping.time, Some(0));
        assert_eq!(mapping.note, Some(4));
        assert_eq!(
            mapping.wide,
            vec![
                (1, "steps".into(), "".into()),
                (2, "weight".into(), "lb".into()),
                (3, "resting_heart_rate".into(), "".into())
            ]
        );
        let entries = mapping.entries(&["2026-11-01", "8000", "", "58", "ok"]);
        let metrics: Vec<&str> = entries.iter().map(|(_, e)| e.metric.as_str()).collect();
        assert_eq!(
            metrics,
            ["steps", "resting_heart_rate"],
            "an empty cell is no reading"
        );
        assert_eq!(entries[0].0, ":1");
        assert!(mapping.entries(&["", "", "", "", ""]).is_empty());
    }

    #[test]
    fn unreadable_files_are_clear_errors() {
        assert_eq!(sniff(b"  \n").unwrap_err(), "The file is empty.");
        assert!(sniff(b"just one column\n1\n2\n")
            .unwrap_err()
            .contains("two columns"));
        assert!(sniff(&[0xff, 0xfe, 0x00, 0x41, 0x00, 0x2c, 0x00])
            .unwrap_err()
            .contains("UTF-8"));
        let mapping = Mapping {
            time: None,
            ..Mapping::default()
        };
        assert_eq!(
            mapping.check(3).unwrap_err(),
            "Choose the column with the date or time."
        );
        let mapping = Mapping {
            time: Some(0),
            ..Mapping::default()
        };
        assert!(mapping.check(3).unwrap_err().contains("metric column"));
        let mapping = Mapping {
            time: Some(7),
            ..Mapping::default()
        };
        assert_eq!(
            mapping.check(3).unwrap_err(),
            "A chosen column is not in the file."
        );
    }

    /// Cells without the other delimiters (so that exactly one delimiter fits), but with
    /// quotes, the file's own delimiter, line breaks, spaces and any letters.
    fn cell(delimiter: char) -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                "[a-zA-Z0-9 ._:/-]",
                Just("\"".to_string()),
                Just(delimiter.to_string()),
                Just("\n".to_string()),
                "[é°µ☕]",
            ],
            0..12,
        )
        .prop_map(|parts| parts.concat())
    }

    fn table() -> impl Strategy<Value = (char, Vec<Vec<String>>)> {
        (0..DELIMITERS.len(), 2..6usize, 1..8usize).prop_flat_map(|(d, columns, rows)| {
            let delimiter = DELIMITERS[d] as char;
            // Header names are plain and distinct.
            let header = (0..columns)
                .map(|c| Just(format!("col{c}")))
                .collect::<Vec<_>>();
            let body = proptest::collection::vec(
                proptest::collection::vec(cell(delimiter), columns),
                rows,
            );
            (Just(delimiter), header, body).prop_map(|(delimiter, header, body)| {
                let mut all = vec![header];
                all.extend(body);
                (delimiter, all)
            })
        })
    }

    proptest! {
        #[test]
        fn what_a_csv_writer_writes_is_read_back(( delimiter, rows) in table()) {
            let mut writer = ::csv::WriterBuilder::new().delimiter(delimiter as u8).from_writer(Vec::new());
            for row in &rows {
                writer.write_record(row).unwrap();
            }
            let bytes = writer.into_inner().unwrap();
            let sniffed = sniff(&bytes).unwrap();
            prop_assert_eq!(sniffed.delimiter, delimiter as u8);
            prop_assert_eq!(&sniffed.headers, &rows[0]);
            let expected: Vec<Vec<String>> = rows[1..].iter().take(PREVIEW_ROWS).cloned().collect();
            prop_assert_eq!(sniffed.rows, expected);
        }

        #[test]
        fn any_bytes_give_an_answer_not_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            if let Ok(sniffed) = sniff(&bytes) {
                let mapping = guess(&sniffed.headers, &[], "UTC");
                for row in &sniffed.rows {
                    let cells: Vec<&str> = row.iter().map(String::as_str).collect();
                    let _ = mapping.entries(&cells);
                }
            }
        }

        #[test]
        fn a_wide_row_gives_one_entry_per_filled_cell(cells in proptest::collection::vec("( |[0-9]{1,4})", 4)) {
            let mapping = Mapping {
                time: Some(0),
                wide: vec![(1, "steps".into(), String::new()), (2, "mood".into(), String::new()), (3, "weight".into(), "lb".into())],
                ..Mapping::default()
            };
            let mut row = vec!["2026-11-01"];
            row.extend(cells[1..].iter().map(String::as_str));
            let filled = cells[1..].iter().filter(|c| !c.trim().is_empty()).count();
            prop_assert_eq!(mapping.entries(&row).len(), filled);
        }
    }
}
