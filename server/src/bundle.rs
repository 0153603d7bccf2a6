//! One-file deployment: the built site (wasm, JS, CSS, public files) carried inside the
//! `cohort` executable.
//!
//! `cohort bundle --output FILE` writes a copy of the running executable with the site
//! appended; `cohort serve` from that file unpacks the site into a fresh private
//! directory (removed at exit) and serves it from there, so every way of serving a site
//! directory (precompressed files, the split build's manifest) works unchanged. A site
//! directory given with `--site-root` (or `LEPTOS_SITE_ROOT`) still takes precedence.
//!
//! What is appended: for each file, its path's length (u32, little-endian), the path
//! (relative, `/`-separated), the data's length (u64) and the data; then a trailer of
//! the archive's length (u64), its SHA-256, and [`MAGIC`]. An executable without the
//! trailer has no site; one whose archive does not match its hash is refused.

use anyhow::{bail, ensure, Context, Result};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

const MAGIC: &[u8; 16] = b"cohort-site-v1\0\0";
const TRAILER: u64 = 8 + 32 + 16;

/// A site unpacked from the executable; the directory goes when this is dropped.
pub struct UnpackedSite {
    dir: tempfile::TempDir,
    pub files: usize,
}

impl UnpackedSite {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Where the appended archive starts and how long it is, if `exe` carries one.
fn locate(file: &mut File) -> Result<Option<(u64, u64, [u8; 32])>> {
    let size = file.metadata()?.len();
    if size < TRAILER {
        return Ok(None);
    }
    file.seek(SeekFrom::Start(size - TRAILER))?;
    let mut trailer = [0u8; TRAILER as usize];
    file.read_exact(&mut trailer)?;
    if &trailer[40..] != MAGIC {
        return Ok(None);
    }
    let length = u64::from_le_bytes(trailer[..8].try_into().expect("8 bytes"));
    let hash: [u8; 32] = trailer[8..40].try_into().expect("32 bytes");
    ensure!(
        length <= size - TRAILER,
        "the site appended to the executable is damaged (its length is wrong)"
    );
    Ok(Some((size - TRAILER - length, length, hash)))
}

/// Writes `output`: the executable `exe` (without any site it already carries) with the
/// files under `site_root` appended. Returns how many files went in.
pub fn bundle(exe: &Path, site_root: &Path, output: &Path) -> Result<usize> {
    let mut files = Vec::new();
    collect(site_root, site_root, &mut files)
        .with_context(|| format!("reading the site in {}", site_root.display()))?;
    ensure!(
        !files.is_empty(),
        "{} holds no site (build it first: cargo leptos build --release --split -P)",
        site_root.display()
    );
    files.sort();
    let mut source = File::open(exe).with_context(|| format!("opening {}", exe.display()))?;
    let program_length = match locate(&mut source)? {
        Some((start, _, _)) => start,
        None => source.metadata()?.len(),
    };
    let partial = output.with_extension("partial");
    let mut out = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o755)
        .open(&partial)
        .with_context(|| format!("creating {}", partial.display()))?;
    source.seek(SeekFrom::Start(0))?;
    std::io::copy(&mut (&mut source).take(program_length), &mut out)?;
    let mut hash = Sha256::new();
    let mut length = 0u64;
    for relative in &files {
        let data = fs::read(site_root.join(relative))?;
        let path = relative.to_string_lossy().into_owned();
        let mut entry = Vec::with_capacity(12 + path.len() + data.len());
        entry.extend_from_slice(&(path.len() as u32).to_le_bytes());
        entry.extend_from_slice(path.as_bytes());
        entry.extend_from_slice(&(data.len() as u64).to_le_bytes());
        entry.extend_from_slice(&data);
        hash.update(&entry);
        length += entry.len() as u64;
        out.write_all(&entry)?;
    }
    out.write_all(&length.to_le_bytes())?;
    out.write_all(&hash.finalize())?;
    out.write_all(MAGIC)?;
    out.sync_all()?;
    drop(out);
    fs::rename(&partial, output)
        .with_context(|| format!("moving the bundle into {}", output.display()))?;
    Ok(files.len())
}

/// Every regular file under `dir`, relative to `root`.
fn collect(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect(root, &entry.path(), files)?;
        } else if kind.is_file() {
            files.push(entry.path().strip_prefix(root)?.to_path_buf());
        }
    }
    Ok(())
}

/// Unpacks the site that the executable `exe` carries, if it carries one.
pub fn unpack_from(exe: &Path) -> Result<Option<UnpackedSite>> {
    let mut file = File::open(exe).with_context(|| format!("opening {}", exe.display()))?;
    let Some((start, length, expected)) = locate(&mut file)? else {
        return Ok(None);
    };
    file.seek(SeekFrom::Start(start))?;
    let mut archive = Vec::with_capacity(length as usize);
    (&mut file).take(length).read_to_end(&mut archive)?;
    ensure!(
        archive.len() as u64 == length && Sha256::digest(&archive)[..] == expected[..],
        "the site appended to {} is damaged; bundle it again",
        exe.display()
    );
    let dir = tempfile::Builder::new()
        .prefix("cohort-site-")
        .tempdir()
        .context("making a directory for the site")?;
    let mut rest = &archive[..];
    let mut files = 0;
    while !rest.is_empty() {
        let (path, data, next) = entry(rest).context("reading the appended site")?;
        let target = dir.path().join(path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&target, data)?;
        files += 1;
        rest = next;
    }
    Ok(Some(UnpackedSite { dir, files }))
}

/// One entry: its safe relative path, its data, and what follows it.
fn entry(bytes: &[u8]) -> Result<(&Path, &[u8], &[u8])> {
    let take = |bytes: &[u8], n: usize| -> Result<(usize, usize)> {
        ensure!(bytes.len() >= n, "an entry is cut short");
        Ok((n, bytes.len()))
    };
    take(bytes, 4)?;
    let path_length = u32::from_le_bytes(bytes[..4].try_into()?) as usize;
    let bytes = &bytes[4..];
    take(bytes, path_length + 8)?;
    let path = std::str::from_utf8(&bytes[..path_length])?;
    let data_length = u64::from_le_bytes(bytes[path_length..path_length + 8].try_into()?);
    let bytes = &bytes[path_length + 8..];
    let data_length = usize::try_from(data_length)?;
    take(bytes, data_length)?;
    let path = Path::new(path);
    // Only plain relative paths: nothing may land outside the site's directory.
    if path.as_os_str().is_empty()
        || !path
            .components()
            .all(|component| matches!(component, Component::Normal(_)))
    {
        bail!(
            "an entry's path is not a plain relative path: {}",
            path.display()
        );
    }
    Ok((path, &bytes[..data_length], &bytes[data_length..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_goes_in_and_comes_out_whole_and_only_once() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("program");
        fs::write(&exe, b"#!/bin/sh\necho program\n").unwrap();
        let site = dir.path().join("site");
        fs::create_dir_all(site.join("pkg")).unwrap();
        fs::write(site.join("favicon.svg"), b"<svg/>").unwrap();
        fs::write(site.join("pkg/cohort.css"), b"body{}").unwrap();
        fs::write(site.join("pkg/empty.js"), b"").unwrap();

        assert!(
            unpack_from(&exe).unwrap().is_none(),
            "a plain program has no site"
        );
        let one = dir.path().join("one");
        assert_eq!(bundle(&exe, &site, &one).unwrap(), 3);
        let unpacked = unpack_from(&one)
            .unwrap()
            .expect("the bundle carries the site");
        assert_eq!(unpacked.files, 3);
        assert_eq!(
            fs::read(unpacked.path().join("favicon.svg")).unwrap(),
            b"<svg/>"
        );
        assert_eq!(
            fs::read(unpacked.path().join("pkg/cohort.css")).unwrap(),
            b"body{}"
        );
        assert_eq!(fs::read(unpacked.path().join("pkg/empty.js")).unwrap(), b"");

        // Bundling from a bundle replaces its site instead of stacking a second one.
        fs::remove_file(site.join("pkg/empty.js")).unwrap();
        let two = dir.path().join("two");
        bundle(&one, &site, &two).unwrap();
        assert_eq!(unpack_from(&two).unwrap().unwrap().files, 2);
        let program = fs::read(&exe).unwrap();
        assert_eq!(&fs::read(&two).unwrap()[..program.len()], &program[..]);

        // A damaged site is refused, not served half.
        let mut bytes = fs::read(&two).unwrap();
        let middle = program.len() + 10;
        bytes[middle] ^= 1;
        fs::write(&two, &bytes).unwrap();
        let error = unpack_from(&two).err().expect("a damaged site is refused");
        assert!(format!("{error:#}").contains("damaged"), "{error:#}");
    }

    #[test]
    fn entries_cannot_escape_the_site_directory() {
        for path in ["../etc/passwd", "/etc/passwd", "pkg/../../x", ""] {
            let mut bytes = Vec::new();
            bytes.extend_from_slice(&(path.len() as u32).to_le_bytes());
            bytes.extend_from_slice(path.as_bytes());
            bytes.extend_from_slice(&1u64.to_le_bytes());
            bytes.push(b'x');
            assert!(entry(&bytes).is_err(), "{path:?} accepted");
        }
        // Lengths past the end are an error, not a panic.
        assert!(entry(&[255, 255, 255, 255, b'a']).is_err());
    }
}
