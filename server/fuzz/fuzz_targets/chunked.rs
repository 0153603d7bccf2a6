/// A reader that hands out at most `step` bytes a call, as the import job's chunks do.
pub struct Chunked<'a> {
    pub data: &'a [u8],
    pub step: usize,
}

impl std::io::Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.max(1).min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Reads `file` with `read` twice, whole and `step` bytes at a time, checks that the two
/// readings agree, and returns the reading.
pub fn read_both_ways<T: PartialEq + std::fmt::Debug>(
    file: &[u8],
    step: usize,
    read: impl Fn(&mut dyn std::io::Read) -> T,
) -> T {
    let whole = read(&mut &file[..]);
    let chunked = read(&mut Chunked { data: file, step });
    assert_eq!(
        whole, chunked,
        "the reading depends on how the bytes arrive"
    );
    whole
}
