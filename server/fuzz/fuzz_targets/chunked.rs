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
