//! The streaming readers behind imports: a CSV file row by row and an Apple Health
//! `export.xml` record by record, from any [`Read`], never holding the file.
//!
//! Plain functions over bytes with no dependency but `csv` and `quick-xml`, so that the
//! fuzz targets in `server/fuzz` build this file on its own (they include it by path).
//! The import job runs them on a blocking thread over the file's stored chunks.

use std::io::Read;

/// A row of a CSV file: the line it starts on, the byte offset after it, its cells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub line: u64,
    pub offset: u64,
    pub cells: Vec<String>,
}

/// A `<Record>` of an Apple Health export: its place among the records (1, 2, …), the
/// byte offset after its start tag, and its attributes (values unescaped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub ordinal: u64,
    pub offset: u64,
    pub attributes: Vec<(String, String)>,
}

impl Record {
    /// The value of the attribute `name`, if the record has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Reads `source` as CSV separated by `delimiter`, handing each row to `emit` until it
/// returns `false`. A file that is not readable as CSV ends in `Err` with the reason,
/// after the rows before the fault were handed on.
pub fn csv_rows<R: Read>(
    source: R,
    delimiter: u8,
    mut emit: impl FnMut(Row) -> bool,
) -> Result<(), String> {
    let source = primed(source).map_err(|error| format!("The file could not be read: {error}."))?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(source);
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {
                let row = Row {
                    line: record.position().map_or(0, |p| p.line()),
                    offset: reader.position().byte(),
                    cells: record
                        .iter()
                        .map(|cell| cell.trim_start_matches('\u{feff}').to_string())
                        .collect(),
                };
                if !emit(row) {
                    return Ok(());
                }
            }
            Ok(false) => return Ok(()),
            Err(error) => {
                let line = error.position().map_or(0, |p| p.line());
                return Err(match error.kind() {
                    csv::ErrorKind::Utf8 { .. } => format!(
                        "Line {line} is not UTF-8 text; save the file as CSV (UTF-8) and import it again."
                    ),
                    _ => format!("Line {line} could not be read as CSV: {error}."),
                });
            }
        }
    }
}

/// `source`, read so that its first read returns at least four bytes (or the whole of a
/// shorter file). csv_core strips a UTF-8 byte order mark from its first buffer, and when
/// that buffer is exactly the mark's three bytes, what is left is empty, which it takes
/// for the end of the file: the whole file read as nothing (found by the csv_reader fuzz
/// target, with the reads the import job's chunks make).
fn primed<R: Read>(mut source: R) -> std::io::Result<impl Read> {
    let mut head = [0u8; 4];
    let mut filled = 0;
    while filled < head.len() {
        match source.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(std::io::Cursor::new(head[..filled].to_vec()).chain(source))
}

/// Reads `source` as an Apple Health export, handing each `<Record>` to `emit` until it
/// returns `false`. Malformed XML, or a file that ends before `</HealthData>` (a cut-off
/// export), ends in `Err` with the reason, after the records before it were handed on.
pub fn health_records<R: Read>(
    source: R,
    mut emit: impl FnMut(Record) -> bool,
) -> Result<(), String> {
    use quick_xml::events::Event;
    let mut xml =
        quick_xml::Reader::from_reader(std::io::BufReader::with_capacity(1 << 16, source));
    let mut buffer = Vec::new();
    let mut ordinal = 0u64;
    let mut complete = false;
    loop {
        match xml.read_event_into(&mut buffer) {
            Ok(Event::End(element)) if element.local_name().as_ref() == b"HealthData" => {
                complete = true;
            }
            Ok(Event::Start(element)) | Ok(Event::Empty(element))
                if element.local_name().as_ref() == b"Record" =>
            {
                ordinal += 1;
                let attributes = element
                    .attributes()
                    .flatten()
                    .map(|attribute| {
                        (
                            String::from_utf8_lossy(attribute.key.as_ref()).into_owned(),
                            attribute
                                .unescape_value()
                                .map(|value| value.into_owned())
                                .unwrap_or_default(),
                        )
                    })
                    .collect();
                let record = Record {
                    ordinal,
                    offset: xml.buffer_position(),
                    attributes,
                };
                if !emit(record) {
                    return Ok(());
                }
            }
            Ok(Event::Eof) if !complete => {
                return Err(
                    "The file ends before </HealthData>: it looks cut off. The records before the cut were imported; export again from Apple Health for the rest."
                        .into(),
                );
            }
            Ok(Event::Eof) => return Ok(()),
            Err(error) => {
                let at = xml.buffer_position();
                return Err(format!(
                    "The file could not be read as XML at byte {at}: {error}."
                ));
            }
            Ok(_) => {}
        }
        buffer.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out at most `step` bytes a read.
    struct Chunked<'a>(&'a [u8], usize);

    impl Read for Chunked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn rows(source: impl Read) -> (Vec<Vec<String>>, Result<(), String>) {
        let mut rows = Vec::new();
        let outcome = csv_rows(source, b';', |row| {
            rows.push(row.cells);
            true
        });
        (rows, outcome)
    }

    #[test]
    fn a_byte_order_mark_read_on_its_own_keeps_the_file() {
        let file = b"\xef\xbb\xbfdate;sleep\r\n2026-11-01;7.5\r\n";
        let whole = rows(&file[..]);
        assert_eq!(whole.0, [["date", "sleep"], ["2026-11-01", "7.5"]]);
        for step in 1..8 {
            assert_eq!(rows(Chunked(file, step)), whole, "{step} bytes a read");
        }
        // Bad UTF-8 after the mark is reported whatever the reads.
        let bad = b"\xef\xbb\xbfdate;sleep\xbc\r\n";
        for step in 1..8 {
            assert!(rows(Chunked(bad, step)).1.is_err(), "{step} bytes a read");
        }
        // Part of a mark is not text; a second mark is the first cell's (and trimmed).
        assert!(rows(&b"\xef\xbb"[..]).1.is_err());
        let twice = b"\xef\xbb\xbf\xef\xbb\xbfp>";
        for step in 1..8 {
            assert_eq!(
                rows(Chunked(twice, step)).0,
                [["p>"]],
                "{step} bytes a read"
            );
        }
    }
}
