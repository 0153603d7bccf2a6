//! One file of wasm per page: `cohort pack-site` joins the pieces of the split build.
//!
//! `cargo leptos build --split` cuts the code that pages share into one chunk per set of
//! routes that use it: a page fetched 60 to 140 files, each compressed on its own. This
//! step writes, for each route, one *pack*: its chunks and its own module in one file,
//! compressed as one (brotli and gzip copies beside it, as cargo-leptos writes for every
//! site file). Compressed together, the parts share one dictionary: a metric's page went
//! from 369,753 to 312,975 bytes on the wire, in 4 files instead of 141 (README,
//! "Front-end weight").
//!
//! What changes in the site's `pkg` directory:
//! - `pack_<route>.wasm`: the number of parts (u32, little-endian); for each part its
//!   name's length (u32), its name (the chunk's file stem) and its length (u32); then the
//!   parts' bytes in that order, the route's own module (`split_…`) last.
//! - the split manifest names one file per route, its pack, so the page's head preloads
//!   that file alone;
//! - the loader script (`__wasm_split.…js`) keeps wasm-split's shared imports and
//!   callbacks, and fetches a route's pack instead of its chunks (`site_pack/loader.js`);
//! - the chunk files are removed;
//! - the quick log's island (`app/quicklog`, built after cargo-leptos's compressed
//!   copies) gets its brotli and gzip copies, once the routes are packed.
//!
//! Every file is written under a temporary name and renamed; the manifest goes last, so a
//! run that fails half-way leaves a site that still works. Packing a packed site does
//! nothing, and a loader script of another shape than the one this knows is refused
//! before anything is written.

use anyhow::{bail, ensure, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

const MANIFEST: &str = "__wasm_split_manifest.json";
const LOADER: &str = "__wasm_split.______________________.js";
const LOADER_JS: &str = include_str!("site_pack/loader.js");
/// Where wasm-split's generated script stops being kept: its own loaders follow.
const KEEP_UNTIL: &str = "function makeLoad(";
const EXPORT: &str = "export const __wasm_split_load_";
const WASM_MAGIC: &[u8] = b"\0asm";

/// What a run did.
#[derive(Debug)]
pub struct PackReport {
    /// Routes, one pack each.
    pub routes: usize,
    /// Chunk and route files that went into the packs (0: the site was already packed).
    pub parts: usize,
    /// The packs' brotli bytes, all routes together.
    pub brotli_bytes: u64,
    pub seconds: f64,
}

/// The pack's file stem for a route's split name (`__track_route_view_…`).
fn pack_name(split: &str) -> String {
    format!("pack_{}", split.trim_start_matches('_'))
}

/// Packs the split build under `site_root` (its `pkg` directory).
pub fn pack_site(site_root: &Path) -> Result<PackReport> {
    let report = pack_routes(site_root)?;
    compress_island(&site_root.join("pkg"))?;
    Ok(report)
}

fn pack_routes(site_root: &Path) -> Result<PackReport> {
    let started = Instant::now();
    let pkg = site_root.join("pkg");
    let manifest_path = pkg.join(MANIFEST);
    let manifest_text = fs::read_to_string(&manifest_path).with_context(|| {
        format!(
            "reading {} (is this a split build? `cargo leptos build --release --split -P`)",
            manifest_path.display()
        )
    })?;
    let manifest: BTreeMap<String, Vec<String>> = serde_json::from_str(&manifest_text)
        .with_context(|| format!("reading {}", manifest_path.display()))?;
    ensure!(
        !manifest.is_empty(),
        "{} names no route",
        manifest_path.display()
    );

    let packed =
        |split: &String, parts: &Vec<String>| parts.len() == 1 && parts[0] == pack_name(split);
    if manifest.iter().all(|(s, p)| packed(s, p)) {
        let mut brotli_bytes = 0;
        for split in manifest.keys() {
            let file = pkg.join(format!("{}.wasm.br", pack_name(split)));
            brotli_bytes += fs::metadata(&file)
                .with_context(|| format!("the site is packed, but {} is missing", file.display()))?
                .len();
        }
        return Ok(PackReport {
            routes: manifest.len(),
            parts: 0,
            brotli_bytes,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    if let Some((split, _)) = manifest.iter().find(|(s, p)| packed(s, p)) {
        bail!(
            "{} is partly packed ({split}): build the site again",
            manifest_path.display()
        );
    }

    let loader_path = pkg.join(LOADER);
    let loader = fs::read_to_string(&loader_path)
        .with_context(|| format!("reading {}", loader_path.display()))?;
    let script = new_loader(&loader, &manifest)
        .with_context(|| format!("rewriting {}", loader_path.display()))?;

    // Every part is read and checked before anything is written.
    let mut packs = Vec::new();
    let mut parts_used = BTreeSet::new();
    for (split, parts) in &manifest {
        let mut contents = Vec::new();
        for part in parts {
            ensure!(
                is_part_name(part),
                "{} names {part:?}, not a chunk or route file",
                manifest_path.display()
            );
            let path = pkg.join(format!("{part}.wasm"));
            let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            ensure!(
                bytes.starts_with(WASM_MAGIC),
                "{} is not WebAssembly",
                path.display()
            );
            contents.push((part.as_str(), bytes));
            parts_used.insert(part.clone());
        }
        packs.push((pack_name(split), encode_pack(&contents)?));
    }

    // Packs left by an earlier build whose route is gone.
    let wanted: BTreeSet<String> = packs.iter().map(|(n, _)| format!("{n}.wasm")).collect();
    for entry in fs::read_dir(&pkg)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        let stem = name.trim_end_matches(".br").trim_end_matches(".gz");
        if name.starts_with("pack_") && stem.ends_with(".wasm") && !wanted.contains(stem) {
            fs::remove_file(pkg.join(&name))?;
        }
    }

    // The packs, then the loader, then the manifest: until the manifest names the packs,
    // the page preloads its chunks, and those are still there.
    let mut files: Vec<(PathBuf, Vec<u8>)> = packs
        .into_iter()
        .map(|(name, bytes)| (pkg.join(format!("{name}.wasm")), bytes))
        .collect();
    files.push((loader_path, script.into_bytes()));
    let new_manifest: BTreeMap<&String, [String; 1]> = manifest
        .keys()
        .map(|split| (split, [pack_name(split)]))
        .collect();
    files.push((
        manifest_path,
        serde_json::to_vec_pretty(&new_manifest).expect("a map of strings"),
    ));
    let compressed = compress_all(&files)?;
    let mut brotli_bytes = 0;
    for ((path, bytes), (br, gz)) in files.iter().zip(compressed) {
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("pack_"))
        {
            brotli_bytes += br.len() as u64;
        }
        write_replacing(&with_suffix(path, ".br"), &br)?;
        write_replacing(&with_suffix(path, ".gz"), &gz)?;
        write_replacing(path, bytes)?;
    }

    for part in &parts_used {
        for suffix in ["", ".br", ".gz"] {
            let path = pkg.join(format!("{part}.wasm{suffix}"));
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
            }
        }
    }
    Ok(PackReport {
        routes: manifest.len(),
        parts: parts_used.len(),
        brotli_bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The quick log's island (`app::track::island`), built after cargo-leptos wrote its
/// compressed copies of the site: a file gets its brotli and gzip copies here when it
/// has none or is newer than them.
fn compress_island(pkg: &Path) -> Result<()> {
    let modified = |path: &Path| fs::metadata(path).and_then(|m| m.modified()).ok();
    let mut files = Vec::new();
    for name in app::track::island::FILES {
        let path = pkg.join(name);
        let Some(built) = modified(&path) else {
            continue;
        };
        if modified(&with_suffix(&path, ".br")).is_some_and(|copy| copy >= built) {
            continue;
        }
        let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        files.push((path, bytes));
    }
    for ((path, _), (br, gz)) in files.iter().zip(compress_all(&files)?) {
        write_replacing(&with_suffix(path, ".br"), &br)?;
        write_replacing(&with_suffix(path, ".gz"), &gz)?;
    }
    Ok(())
}

/// `chunk_12`, `split___track_route_view_…`: names that are safe in a path and in the
/// loader's script.
fn is_part_name(name: &str) -> bool {
    (name.starts_with("chunk_") || name.starts_with("split_")) && is_plain_name(name)
}

/// Letters, digits and underscores only.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The loader script: wasm-split's shared imports and callbacks, kept, then the pack
/// loader and one export per route that the original exported.
fn new_loader(original: &str, manifest: &BTreeMap<String, Vec<String>>) -> Result<String> {
    let keep = original
        .find(KEEP_UNTIL)
        .map(|at| &original[..at])
        .filter(|kept| {
            kept.contains("function getSharedImports()") && kept.contains("function wrapAsyncCb(")
        })
        .context("its shape is not the one `cohort pack-site` knows (did cargo-leptos's wasm-split change?)")?;
    let mut script = String::from(keep);
    script.push_str(LOADER_JS);
    let mut exported = BTreeSet::new();
    for line in original.lines() {
        let Some(rest) = line.strip_prefix(EXPORT) else {
            continue;
        };
        let split = rest.split(' ').next().unwrap_or_default();
        ensure!(
            is_plain_name(split),
            "it exports a loader with an unexpected name: {line:?}"
        );
        // A route whose code all went elsewhere has no files: its loader has nothing to do.
        let pack = if manifest.contains_key(split) {
            format!("\"{}\"", pack_name(split))
        } else {
            "null".to_string()
        };
        script.push_str(&format!("{EXPORT}{split} = load({pack});\n"));
        exported.insert(split.to_string());
    }
    if let Some(missing) = manifest.keys().find(|s| !exported.contains(*s)) {
        bail!("it has no loader for the route {missing}");
    }
    Ok(script)
}

fn encode_pack(parts: &[(&str, Vec<u8>)]) -> Result<Vec<u8>> {
    let len = |n: usize| -> Result<[u8; 4]> {
        Ok(u32::try_from(n).context("a part over 4 GiB")?.to_le_bytes())
    };
    let mut out = Vec::with_capacity(
        parts
            .iter()
            .map(|(n, b)| n.len() + b.len() + 8)
            .sum::<usize>()
            + 4,
    );
    out.extend(len(parts.len())?);
    for (name, bytes) in parts {
        out.extend(len(name.len())?);
        out.extend(name.as_bytes());
        out.extend(len(bytes.len())?);
    }
    for (_, bytes) in parts {
        out.extend(bytes);
    }
    Ok(out)
}

/// A file's brotli and gzip copies.
type Compressed = (Vec<u8>, Vec<u8>);

/// Brotli (quality 11, as cargo-leptos's `-P`) and gzip (level 9) copies of every file,
/// on every core.
fn compress_all(files: &[(PathBuf, Vec<u8>)]) -> Result<Vec<Compressed>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut out: Vec<Option<Compressed>> = vec![None; files.len()];
    std::thread::scope(|scope| -> Result<()> {
        let workers: Vec<_> = (0..threads)
            .map(|first| {
                scope.spawn(move || {
                    files
                        .iter()
                        .enumerate()
                        .skip(first)
                        .step_by(threads)
                        .map(|(i, (_, bytes))| Ok((i, compress(bytes)?)))
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        for worker in workers {
            for (i, copies) in worker.join().expect("compression does not panic")? {
                out[i] = Some(copies);
            }
        }
        Ok(())
    })?;
    Ok(out
        .into_iter()
        .map(|copies| copies.expect("every file compressed"))
        .collect())
}

fn compress(bytes: &[u8]) -> Result<Compressed> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        size_hint: bytes.len(),
        ..Default::default()
    };
    let mut br = Vec::new();
    brotli::BrotliCompress(&mut &bytes[..], &mut br, &params)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes)?;
    Ok((br, gz.finish()?))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Writes `path` whole or not at all: a temporary file beside it, renamed over it.
fn write_replacing(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = with_suffix(path, ".packing");
    fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// The parts of a pack (the browser reads it in `site_pack/loader.js`).
    fn decode_pack(pack: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
        fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8]> {
            ensure!(rest.len() >= n, "the pack ends early");
            let (head, tail) = rest.split_at(n);
            *rest = tail;
            Ok(head)
        }
        fn number(rest: &mut &[u8]) -> Result<usize> {
            Ok(u32::from_le_bytes(take(rest, 4)?.try_into().expect("4 bytes")) as usize)
        }
        let mut rest = pack;
        let mut heads = Vec::new();
        for _ in 0..number(&mut rest)? {
            let name_len = number(&mut rest)?;
            let name = String::from_utf8(take(&mut rest, name_len)?.to_vec())?;
            heads.push((name, number(&mut rest)?));
        }
        let mut parts = Vec::new();
        for (name, len) in heads {
            parts.push((name, take(&mut rest, len)?.to_vec()));
        }
        ensure!(rest.is_empty(), "bytes after the last part");
        Ok(parts)
    }

    const ORIGINAL: &str = r#"import { initSync } from "./cohort.js";

let sharedImports = undefined;
function getSharedImports() { return sharedImports; }
function wrapAsyncCb(callee) { return callee; }
function makeLoad(fetcher, deps) { return () => fetcher; }
const __chunk_1 = makeLoad(() => {}, []);
export const __wasm_split_load___a_route_view_1 = wrapAsyncCb(makeLoad(() => {}, [__chunk_1]));
export const __wasm_split_load___b_route_view_1 = wrapAsyncCb(makeLoad(() => {}, [__chunk_1]));
export const __wasm_split_load___empty_route_view_1 = wrapAsyncCb(makeLoad(() => async (_imp) => ({}), []));
"#;

    fn wasm(tag: u8) -> Vec<u8> {
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        bytes.extend(std::iter::repeat_n(tag, 100 + tag as usize));
        bytes
    }

    fn site() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path().join("pkg");
        fs::create_dir(&pkg).unwrap();
        let manifest = r#"{"__a_route_view_1": ["chunk_1", "chunk_2", "split___a_route_view_1"],
                           "__b_route_view_1": ["chunk_1", "split___b_route_view_1"]}"#;
        fs::write(pkg.join(MANIFEST), manifest).unwrap();
        fs::write(pkg.join(LOADER), ORIGINAL).unwrap();
        for (i, part) in [
            "chunk_1",
            "chunk_2",
            "split___a_route_view_1",
            "split___b_route_view_1",
        ]
        .iter()
        .enumerate()
        {
            for suffix in ["", ".br", ".gz"] {
                fs::write(pkg.join(format!("{part}.wasm{suffix}")), wasm(i as u8)).unwrap();
            }
        }
        fs::write(pkg.join("cohort.wasm"), wasm(9)).unwrap();
        fs::write(pkg.join("pack_gone_route_view_1.wasm.br"), b"old").unwrap();
        dir
    }

    fn files(dir: &Path) -> BTreeSet<String> {
        fs::read_dir(dir.join("pkg"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn gives_the_quick_logs_island_its_compressed_copies() {
        let dir = site();
        let pkg = dir.path().join("pkg");
        let [script, wasm_file] = app::track::island::FILES;
        fs::write(pkg.join(script), "export default function start() {}").unwrap();
        fs::write(pkg.join(wasm_file), wasm(5)).unwrap();
        pack_site(dir.path()).unwrap();
        for name in [script, wasm_file] {
            let mut unbrotli = Vec::new();
            brotli::BrotliDecompress(
                &mut &fs::read(pkg.join(format!("{name}.br"))).unwrap()[..],
                &mut unbrotli,
            )
            .unwrap();
            assert_eq!(unbrotli, fs::read(pkg.join(name)).unwrap(), "{name}");
            assert!(pkg.join(format!("{name}.gz")).is_file(), "{name}");
        }
    }

    #[test]
    fn packs_each_route_into_one_file_and_keeps_the_rest() {
        let dir = site();
        let pkg = dir.path().join("pkg");
        let report = pack_site(dir.path()).unwrap();
        assert_eq!((report.routes, report.parts), (2, 4));

        let a = decode_pack(&fs::read(pkg.join("pack_a_route_view_1.wasm")).unwrap()).unwrap();
        let names: Vec<&str> = a.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["chunk_1", "chunk_2", "split___a_route_view_1"]);
        assert_eq!(a[1].1, wasm(1));
        assert_eq!(a[2].1, wasm(2));
        let b = decode_pack(&fs::read(pkg.join("pack_b_route_view_1.wasm")).unwrap()).unwrap();
        assert_eq!(
            b,
            [
                ("chunk_1".into(), wasm(0)),
                ("split___b_route_view_1".into(), wasm(3))
            ]
        );

        // The compressed copies are of the new contents.
        let mut unbrotli = Vec::new();
        brotli::BrotliDecompress(
            &mut &fs::read(pkg.join("pack_b_route_view_1.wasm.br")).unwrap()[..],
            &mut unbrotli,
        )
        .unwrap();
        assert_eq!(
            unbrotli,
            fs::read(pkg.join("pack_b_route_view_1.wasm")).unwrap()
        );
        let mut ungzip = String::new();
        flate2::read::GzDecoder::new(&fs::read(pkg.join(format!("{LOADER}.gz"))).unwrap()[..])
            .read_to_string(&mut ungzip)
            .unwrap();
        assert_eq!(ungzip, fs::read_to_string(pkg.join(LOADER)).unwrap());

        let manifest: BTreeMap<String, Vec<String>> =
            serde_json::from_slice(&fs::read(pkg.join(MANIFEST)).unwrap()).unwrap();
        assert_eq!(manifest["__a_route_view_1"], ["pack_a_route_view_1"]);
        assert_eq!(manifest["__b_route_view_1"], ["pack_b_route_view_1"]);

        let script = fs::read_to_string(pkg.join(LOADER)).unwrap();
        assert!(script.starts_with("import { initSync } from \"./cohort.js\";"));
        assert!(script.contains("function getSharedImports()"));
        assert!(!script.contains("makeLoad"));
        assert!(script.contains(
            "export const __wasm_split_load___a_route_view_1 = load(\"pack_a_route_view_1\");"
        ));
        assert!(
            script.contains("export const __wasm_split_load___empty_route_view_1 = load(null);")
        );

        let left = files(dir.path());
        assert!(
            !left
                .iter()
                .any(|f| f.starts_with("chunk_") || f.starts_with("split_")),
            "{left:?}"
        );
        assert!(
            !left
                .iter()
                .any(|f| f.contains("gone") || f.ends_with(".packing")),
            "{left:?}"
        );
        assert!(left.contains("cohort.wasm"));

        // A second run finds the site packed and changes nothing.
        let before: Vec<(String, Vec<u8>)> = left
            .iter()
            .map(|f| (f.clone(), fs::read(pkg.join(f)).unwrap()))
            .collect();
        let again = pack_site(dir.path()).unwrap();
        assert_eq!((again.routes, again.parts), (2, 0));
        assert_eq!(again.brotli_bytes, report.brotli_bytes);
        let after: Vec<(String, Vec<u8>)> = files(dir.path())
            .iter()
            .map(|f| (f.clone(), fs::read(pkg.join(f)).unwrap()))
            .collect();
        assert_eq!(before, after);
    }

    /// Makes a site unfit to pack.
    type Spoil = fn(&Path);

    #[test]
    fn refuses_what_it_does_not_know_before_writing_anything() {
        let cases: [(&str, Spoil); 4] = [
            ("shape", |pkg| {
                fs::write(
                    pkg.join(LOADER),
                    ORIGINAL.replace("function makeLoad(", "function other("),
                )
                .unwrap()
            }),
            ("no loader for the route", |pkg| {
                fs::write(
                    pkg.join(LOADER),
                    ORIGINAL.replace("load___b_route", "load___c_route"),
                )
                .unwrap()
            }),
            ("not WebAssembly", |pkg| {
                fs::write(pkg.join("chunk_2.wasm"), b"<html>").unwrap()
            }),
            ("not a chunk", |pkg| {
                fs::write(
                    pkg.join(MANIFEST),
                    r#"{"__a_route_view_1": ["../../etc/passwd"]}"#,
                )
                .unwrap()
            }),
        ];
        for (expected, spoil) in cases {
            let dir = site();
            spoil(&dir.path().join("pkg"));
            let before = files(dir.path());
            let error = format!("{:#}", pack_site(dir.path()).unwrap_err());
            assert!(error.contains(expected), "{expected}: {error}");
            assert_eq!(files(dir.path()), before, "{expected}");
        }
        let empty = tempfile::tempdir().unwrap();
        let error = format!("{:#}", pack_site(empty.path()).unwrap_err());
        assert!(error.contains("split build"), "{error}");
    }
}
