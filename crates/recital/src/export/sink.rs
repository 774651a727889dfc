//! Where an export's files go: a directory (the CLI), one `.tar.gz` stream (the server,
//! into the blob store), or memory (tests, previews). Every sink refuses paths that could
//! leave the export (`..`, absolute paths) and a second file under one path.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

/// Where the files of an export go. Paths are relative, `/`-separated.
pub trait Sink {
    /// Adds one file.
    fn add(&mut self, path: &str, bytes: &[u8]) -> io::Result<()>;
    /// Completes the export; a sink dropped without this holds no usable export.
    fn finish(self: Box<Self>) -> io::Result<()>;
}

/// Refuses a path that is empty, absolute, climbs out (`..`), or is not plainly written.
fn check_path(path: &str) -> io::Result<()> {
    let bad = |why: &str| {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing the export path `{path}`: {why}"),
        ))
    };
    if path.is_empty() {
        return bad("it is empty");
    }
    if path.starts_with('/') {
        return bad("it is absolute");
    }
    if path.contains('\\') || path.contains('\0') {
        return bad("it holds a backslash or a NUL");
    }
    for part in path.split('/') {
        match part {
            ".." => return bad("it leaves the export"),
            "" | "." => return bad("it has an empty or `.` component"),
            _ => {}
        }
    }
    Ok(())
}

/// Writes under a directory, for `tutti recital export -o DIR`. Files go to a hidden
/// staging directory beside it, renamed into place by [`Sink::finish`], so a failed
/// export leaves nothing behind and a finished one appears whole.
pub struct DirSink {
    target: PathBuf,
    staging: tempfile::TempDir,
}

impl DirSink {
    /// A sink for `dir`, which must not exist yet or be empty.
    pub fn new(dir: impl Into<PathBuf>) -> io::Result<DirSink> {
        let target: PathBuf = dir.into();
        if target.exists() && fs::read_dir(&target)?.next().is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} is not empty; export into a new directory",
                    target.display()
                ),
            ));
        }
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent)?;
        let staging = tempfile::Builder::new()
            .prefix(".tutti-export-")
            .tempdir_in(&parent)?;
        Ok(DirSink { target, staging })
    }

    /// The directory the export will be in once finished.
    pub fn target(&self) -> &Path {
        &self.target
    }
}

impl Sink for DirSink {
    fn add(&mut self, path: &str, bytes: &[u8]) -> io::Result<()> {
        check_path(path)?;
        let full = self.staging.path().join(path);
        if let Some(parent) = full.parent() {
            fs::create_dir_all(parent)?;
        }
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&full)?;
        file.write_all(bytes)?;
        file.flush()
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        let DirSink { target, staging } = *self;
        if target.exists() {
            // Empty, as `new` checked; rename cannot replace a directory everywhere.
            fs::remove_dir(&target)?;
        }
        let staged = staging.keep();
        fs::rename(&staged, &target).inspect_err(|_| {
            let _ = fs::remove_dir_all(&staged);
        })
    }
}

/// One `.tar.gz` stream, for the server to write one archive to the blob store.
pub struct TarGzSink<W: Write> {
    builder: tar::Builder<GzEncoder<W>>,
    root: Option<String>,
    mtime: u64,
    seen: BTreeSet<String>,
}

impl<W: Write> TarGzSink<W> {
    /// An archive written to `writer`, entries dated now.
    pub fn new(writer: W) -> TarGzSink<W> {
        let mtime = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        TarGzSink {
            builder: tar::Builder::new(GzEncoder::new(writer, Compression::default())),
            root: None,
            mtime,
            seen: BTreeSet::new(),
        }
    }

    /// Puts every file under `root/`, so the archive unpacks into one folder.
    pub fn with_root(mut self, root: &str) -> io::Result<TarGzSink<W>> {
        check_path(root)?;
        self.root = Some(root.trim_end_matches('/').to_string());
        Ok(self)
    }

    /// Ends the archive and the gzip stream and returns the writer, flushed.
    pub fn into_inner(self) -> io::Result<W> {
        let mut w = self.builder.into_inner()?.finish()?;
        w.flush()?;
        Ok(w)
    }
}

impl<W: Write> Sink for TarGzSink<W> {
    fn add(&mut self, path: &str, bytes: &[u8]) -> io::Result<()> {
        check_path(path)?;
        let name = match &self.root {
            Some(root) => format!("{root}/{path}"),
            None => path.to_string(),
        };
        if !self.seen.insert(name.clone()) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("the export already has a file `{path}`"),
            ));
        }
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(self.mtime);
        self.builder.append_data(&mut header, &name, bytes)
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        self.into_inner().map(drop)
    }
}

/// Keeps the files in memory: for tests and small previews.
#[derive(Debug, Default)]
pub struct MemorySink {
    /// Path -> bytes, in path order.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl MemorySink {
    /// The text of a file, if it is there and UTF-8.
    pub fn text(&self, path: &str) -> Option<&str> {
        self.files
            .get(path)
            .and_then(|b| std::str::from_utf8(b).ok())
    }
}

impl Sink for MemorySink {
    fn add(&mut self, path: &str, bytes: &[u8]) -> io::Result<()> {
        check_path(path)?;
        if self.files.contains_key(path) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("the export already has a file `{path}`"),
            ));
        }
        self.files.insert(path.to_string(), bytes.to_vec());
        Ok(())
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn paths_that_leave_the_export_are_refused() {
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "",
            "a//b",
            "./a",
            "a\\b",
            "..",
        ] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
        for good in ["README.md", "train/metadata.csv", "clips/a.b.ogg", "x/..y"] {
            check_path(good).unwrap();
        }
    }

    #[test]
    fn dir_sink_refuses_dot_dot_and_appears_whole_on_finish() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out");
        let mut sink = DirSink::new(&target).unwrap();
        let err = sink.add("../x", b"escape").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(sink.add("/tmp/x", b"abs").is_err());
        assert!(!tmp.path().join("x").exists());
        sink.add("README.md", b"# hi").unwrap();
        sink.add("train/a.ogg", b"ogg").unwrap();
        assert!(sink.add("train/a.ogg", b"again").is_err(), "no overwrite");
        assert!(!target.exists(), "nothing visible before finish");
        Box::new(sink).finish().unwrap();
        assert_eq!(fs::read(target.join("README.md")).unwrap(), b"# hi");
        assert_eq!(fs::read(target.join("train/a.ogg")).unwrap(), b"ogg");
        let names: Vec<_> = fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no staging directory is left: {names:?}");
    }

    #[test]
    fn dir_sink_dropped_unfinished_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out");
        fs::create_dir(&target).unwrap();
        let mut sink = DirSink::new(&target).unwrap();
        sink.add("a.txt", b"a").unwrap();
        drop(sink);
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
        assert_eq!(fs::read_dir(&target).unwrap().count(), 0);
        fs::write(target.join("old"), b"x").unwrap();
        assert_eq!(
            DirSink::new(&target).err().map(|e| e.kind()),
            Some(io::ErrorKind::AlreadyExists)
        );
    }

    #[test]
    fn tar_gz_reads_back_with_the_tar_crate() {
        let mut sink = TarGzSink::new(Vec::new()).with_root("ds").unwrap();
        sink.add("README.md", b"# datasheet").unwrap();
        let long = format!("{}/clip.ogg", "d".repeat(150));
        sink.add(&long, &[1, 2, 3]).unwrap();
        assert!(sink.add("../x", b"").is_err());
        assert!(sink.add("README.md", b"again").is_err());
        let bytes = sink.into_inner().unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        let mut files = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            assert_eq!(entry.header().mode().unwrap(), 0o644);
            files.push((path, data));
        }
        assert_eq!(
            files,
            [
                ("ds/README.md".to_string(), b"# datasheet".to_vec()),
                (format!("ds/{long}"), vec![1, 2, 3]),
            ]
        );
    }
}
