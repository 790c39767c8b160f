//! Output files that are complete or absent: each output is written to a temporary file
//! beside it and renamed into place only after the whole run succeeded, so a failed or
//! interrupted run never leaves a half-written file nor clobbers an existing one. The path is
//! checked before the computation starts, so that a bad path fails at once (as bad input).

use crate::cleanup;
use crate::error::CliError;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Resolves a chain of symlinks at `path` (a relative target is relative to the link's
/// directory), also when the last target does not exist yet.
fn resolve_links(path: &Path) -> io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&p)?;
                p = p.parent().map_or_else(|| target.clone(), |dir| dir.join(&target));
            }
            _ => return Ok(p),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// Where an output goes: a regular file (new or existing) is written through a temporary
/// file in its directory and a rename, so it is complete or absent (the temporary file is
/// removed on failure, on drop and on SIGINT/SIGTERM/SIGHUP); a symlink is followed (its
/// target, which need not exist yet, is replaced; the link stays); anything else that
/// exists — a FIFO, a device such as `/dev/stdout` — is written in place, since renaming
/// over it would replace the node itself.
pub(crate) enum Destination {
    Atomic { shown: PathBuf, file: PathBuf, tmp: PathBuf },
    InPlace { shown: PathBuf, file: PathBuf },
}

impl Destination {
    /// Resolves `path` and, for a regular file, checks now — before any computation —
    /// that its directory takes the temporary file. Every failure here is bad input.
    pub(crate) fn new(path: &Path) -> Result<Self, CliError> {
        let bad = |what: &dyn std::fmt::Display| {
            CliError::Input(format!("cannot write {}: {what}", path.display()))
        };
        if path.as_os_str().is_empty() {
            return Err(CliError::Input("the output path is empty".into()));
        }
        if path.as_os_str().as_encoded_bytes().ends_with(std::path::MAIN_SEPARATOR_STR.as_bytes()) {
            return Err(bad(&"it names a directory"));
        }
        let file = resolve_links(path).map_err(|e| bad(&e))?;
        let shown = path.to_path_buf();
        match std::fs::metadata(&file) {
            Ok(m) if m.is_dir() => return Err(bad(&"it is a directory")),
            Ok(m) if !m.is_file() => return Ok(Self::InPlace { shown, file }),
            _ => {}
        }
        let Some(name) = file.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            return Err(bad(&"it names a directory"));
        };
        let dir = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
        cleanup::register(&tmp);
        File::create(&tmp).map_err(|e| {
            let why = if e.kind() == io::ErrorKind::NotFound {
                format!("there is no directory {}", dir.display())
            } else {
                e.to_string()
            };
            if file == path {
                bad(&why)
            } else {
                bad(&format_args!("{why} (writing {}, the target of the link)", file.display()))
            }
        })?;
        let _ = std::fs::remove_file(&tmp);
        Ok(Self::Atomic { shown, file, tmp })
    }

    /// The file the user named, the file written and the file being written now.
    fn paths(&self) -> (&Path, &Path, &Path) {
        match self {
            Self::Atomic { shown, file, tmp } => (shown, file, tmp),
            Self::InPlace { shown, file } => (shown, file, file),
        }
    }

    fn fail(&self, e: &io::Error) -> CliError {
        CliError::Other(format!("cannot write {}: {e}", self.paths().0.display()))
    }

    /// Writes the content (to the temporary file, or in place); [`Destination::commit`]
    /// then puts it in place.
    pub(crate) fn stage(&self, body: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), CliError> {
        let res = File::create(self.paths().2).and_then(|f| {
            let mut w = BufWriter::with_capacity(1 << 16, f);
            body(&mut w)?;
            w.flush()
        });
        res.map_err(|e| self.fail(&e))
    }

    pub(crate) fn commit(&self) -> Result<(), CliError> {
        let (_, file, tmp) = self.paths();
        if file != tmp {
            std::fs::rename(tmp, file).map_err(|e| self.fail(&e))?;
        }
        Ok(())
    }

    /// Whether `self` and `other` would write the same file.
    pub(crate) fn same_file(&self, other: &Self) -> bool {
        let key = |p: &Path| {
            let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            (std::fs::canonicalize(dir).ok(), p.file_name().map(ToOwned::to_owned))
        };
        key(self.paths().1) == key(other.paths().1)
    }
}

impl Drop for Destination {
    /// A temporary file not renamed into place (the run failed) is removed.
    fn drop(&mut self) {
        if let Self::Atomic { tmp, .. } = self {
            let _ = std::fs::remove_file(tmp);
        }
    }
}
