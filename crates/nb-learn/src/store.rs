//! Where learned state lives between runs.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::state::LearnState;

/// Why state could not be loaded or saved.
///
/// A `Corrupt` or `UnsupportedVersion` load means the saved state was
/// ignored: the caller logs it and carries on with empty state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The key is not usable by this store (the file store accepts 1 to 128
    /// ASCII letters, digits, `-`, `_` and `.`, not starting with `.`).
    #[error("invalid state key {key:?}")]
    InvalidKey {
        /// The rejected key.
        key: String,
    },
    /// Reading or writing a file failed.
    #[error("state file {}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A store backend other than files failed (for implementors such as a
    /// Redis store).
    #[error("state backend: {source}")]
    Backend {
        /// The backend's error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// The saved bytes are not a valid state.
    #[error("state {key:?} is corrupt and was ignored: {detail}")]
    Corrupt {
        /// The key it was saved under.
        key: String,
        /// What was wrong.
        detail: String,
    },
    /// The saved state has a format version this build does not read (a
    /// newer release wrote it).
    #[error("state {key:?} has format version {found}; this build reads version {supported}")]
    UnsupportedVersion {
        /// The key it was saved under.
        key: String,
        /// The version found.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// The state could not be serialized.
    #[error("state could not be encoded: {source}")]
    Encode {
        /// The serializer's error.
        #[source]
        source: serde_json::Error,
    },
}

/// A place to keep [`LearnState`] between runs, by key.
///
/// Implementors move bytes ([`read`](Self::read) and
/// [`write`](Self::write)); encoding, versioning and validation live in the
/// provided [`load`](Self::load) and [`save`](Self::save), so every store
/// treats a corrupt or newer-version state the same way. The key is a
/// namespace: several engines (or services) can share one store under
/// different keys. A shared store such as Redis implements it with `GET` and
/// `SET`, reporting its errors as [`StoreError::Backend`]. The trait is
/// object safe.
pub trait StateStore: Send + Sync {
    /// The bytes saved under `key`, or `None` if nothing is.
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Replaces whatever is saved under `key` with `bytes`, atomically: a
    /// reader sees the old bytes or the new ones, never a mix.
    fn write(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError>;

    /// The state saved under `key`, `None` if nothing is. Corrupt or
    /// newer-version bytes are an error, never a panic.
    fn load(&self, key: &str) -> Result<Option<LearnState>, StoreError> {
        self.read(key)?
            .map(|bytes| LearnState::from_json(key, &bytes))
            .transpose()
    }

    /// Saves `state` under `key`.
    fn save(&self, key: &str, state: &LearnState) -> Result<(), StoreError> {
        self.write(key, &state.to_json()?)
    }
}

impl<T: StateStore + ?Sized> StateStore for Arc<T> {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).read(key)
    }

    fn write(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        (**self).write(key, bytes)
    }

    fn load(&self, key: &str) -> Result<Option<LearnState>, StoreError> {
        (**self).load(key)
    }

    fn save(&self, key: &str, state: &LearnState) -> Result<(), StoreError> {
        (**self).save(key, state)
    }
}

/// A store in memory: for tests, and for processes that only want state to
/// survive an engine being rebuilt. Clones share the same contents.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    entries: Arc<Mutex<HashMap<String, Vec<u8>>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl StateStore for MemoryStore {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(entries.get(key).cloned())
    }

    fn write(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.insert(key.to_owned(), bytes.to_vec());
        Ok(())
    }
}

/// A store of JSON files in a directory, one `<key>.json` per key.
///
/// A file larger than 64 MiB is reported as [`StoreError::Corrupt`]
/// without being read.
///
/// A write goes to a temporary file in the same directory, is flushed to
/// disk, then renamed over the old file, and the directory is flushed too,
/// so a crash leaves the old state or the new one, never half a file (nor a
/// rename lost). The directory is created on first write.
///
/// A file that cannot be read as a state (corrupt, or written by a newer
/// release) is never overwritten: [`load`](StateStore::load) moves it aside
/// to `<key>.json.unreadable-<unix seconds>` before reporting it, and if it
/// cannot be moved, the store refuses to write that key. Temporary files
/// left by a save that was interrupted (older than a minute) are removed
/// when the key is loaded.
#[derive(Debug, Clone)]
pub struct JsonFileStore {
    dir: PathBuf,
    /// Keys whose unreadable file could not be set aside.
    keep: Arc<Mutex<Vec<String>>>,
}

/// How old a temporary file must be to count as left by an interrupted
/// save (a save in progress, even a slow one, is far younger).
const STALE_TEMP: std::time::Duration = std::time::Duration::from_secs(60);

/// The largest state file read (64 MiB). A full engine (256 models, four
/// weeks each) saves about a megabyte; anything far larger is not a state,
/// and is reported as corrupt rather than read into memory.
const MAX_FILE_BYTES: u64 = 64 << 20;

/// Tells concurrent writers in one process apart in temporary file names.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl JsonFileStore {
    /// A store keeping its files in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            keep: Arc::default(),
        }
    }

    /// Moves `key`'s unreadable file aside, or remembers not to overwrite it.
    fn set_aside(&self, key: &str, path: &Path) {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let aside = self.dir.join(format!("{key}.json.unreadable-{stamp}"));
        if fs::rename(path, &aside).is_err() {
            self.keep
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(key.to_owned());
        }
    }

    /// Removes `key`'s temporary files older than [`STALE_TEMP`].
    fn clean_temps(&self, key: &str) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let prefix = format!(".{key}.json.");
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                continue;
            };
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age >= STALE_TEMP);
            if name.starts_with(&prefix) && name.ends_with(".tmp") && stale {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds `key`.
    pub fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        let valid = (1..=128).contains(&key.len())
            && !key.starts_with('.')
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if valid {
            Ok(self.dir.join(format!("{key}.json")))
        } else {
            Err(StoreError::InvalidKey {
                key: key.to_owned(),
            })
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

impl StateStore for JsonFileStore {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(key)?;
        let file = match fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&path)(e)),
        };
        let too_large = || StoreError::Corrupt {
            key: key.to_owned(),
            detail: format!("larger than {MAX_FILE_BYTES} bytes"),
        };
        let len = file.metadata().map_err(io_error(&path))?.len();
        if len > MAX_FILE_BYTES {
            return Err(too_large());
        }
        // The length may change under us: read at most one byte past the cap.
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io_error(&path))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(too_large());
        }
        Ok(Some(bytes))
    }

    fn load(&self, key: &str) -> Result<Option<LearnState>, StoreError> {
        let path = self.path(key)?;
        self.clean_temps(key);
        let loaded = self
            .read(key)
            .and_then(|bytes| bytes.map(|b| LearnState::from_json(key, &b)).transpose());
        if let Err(StoreError::Corrupt { .. } | StoreError::UnsupportedVersion { .. }) = &loaded {
            self.set_aside(key, &path);
        }
        loaded
    }

    fn write(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.path(key)?;
        let kept = self
            .keep
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .any(|k| k == key);
        if kept {
            return Err(io_error(&path)(io::Error::other(
                "holds a state this build could not read, and it could not be moved aside: \
                 not overwritten (move it away by hand)",
            )));
        }
        fs::create_dir_all(&self.dir).map_err(io_error(&self.dir))?;
        let temp = self.dir.join(format!(
            ".{key}.json.{}.{}.tmp",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let written = (|| {
            let mut file = fs::File::create(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()
        })()
        .map_err(io_error(&temp))
        .and_then(|()| fs::rename(&temp, &path).map_err(io_error(&path)));
        if written.is_err() {
            // Best effort: the temporary file is garbage either way.
            let _ = fs::remove_file(&temp);
            return written;
        }
        // The rename is durable once the directory is flushed. (A platform
        // that cannot open a directory as a file has nothing to flush.)
        if let Ok(dir) = fs::File::open(&self.dir) {
            dir.sync_all().map_err(io_error(&self.dir))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::temp_dir;

    #[test]
    fn memory_store_round_trip_and_sharing() {
        let store = MemoryStore::new();
        assert!(store.load("learn").unwrap().is_none());
        store.save("learn", &LearnState::new()).unwrap();
        let shared = store.clone();
        assert_eq!(shared.load("learn").unwrap(), Some(LearnState::new()));
        assert!(shared.load("other").unwrap().is_none());
        let boxed: Box<dyn StateStore> = Box::new(Arc::new(shared));
        assert!(boxed.read("learn").unwrap().is_some());
    }

    #[test]
    fn file_store_replaces_atomically_and_leaves_no_temp_files() {
        let dir = temp_dir("replace");
        let store = JsonFileStore::new(dir.join("nested"));
        assert!(store.load("learn").unwrap().is_none());
        store.write("learn", b"first").unwrap();
        store.save("learn", &LearnState::new()).unwrap();
        assert_eq!(store.load("learn").unwrap(), Some(LearnState::new()));
        let names: Vec<_> = fs::read_dir(store.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["learn.json"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn file_store_reports_bad_keys_corrupt_and_future_files() {
        let dir = temp_dir("errors");
        let store = JsonFileStore::new(&dir);
        for key in [
            "",
            "../etc/passwd",
            ".hidden",
            "a/b",
            "sp ace",
            &"k".repeat(129),
        ] {
            assert!(
                matches!(store.load(key), Err(StoreError::InvalidKey { .. })),
                "{key:?}"
            );
            assert!(store.write(key, b"{}").is_err());
        }
        store
            .write("torn", br#"{"version":1,"models":{"m":{"we"#)
            .unwrap();
        let err = store.load("torn").unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { ref key, .. } if key == "torn"));
        assert!(err.to_string().contains("corrupt"), "{err}");
        store.write("future", br#"{"version":9}"#).unwrap();
        assert!(matches!(
            store.load("future"),
            Err(StoreError::UnsupportedVersion { found: 9, .. })
        ));
        // A huge file is refused before it is read (sparse: no disk used).
        let huge = fs::File::create(dir.join("huge.json")).unwrap();
        huge.set_len(MAX_FILE_BYTES + 1).unwrap();
        let err = store.load("huge").unwrap_err();
        assert!(
            matches!(err, StoreError::Corrupt { ref detail, .. } if detail.starts_with("larger than")),
            "{err}"
        );
        // (Each was moved aside: see the next test.)
        let aside: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains(".json.unreadable-"))
            .collect();
        assert_eq!(aside.len(), 3, "{aside:?}");
        for name in aside {
            fs::remove_file(dir.join(name)).unwrap();
        }
        // A directory where the file should be is an I/O error, not a panic.
        fs::create_dir_all(dir.join("dir.json")).unwrap();
        assert!(matches!(store.read("dir"), Err(StoreError::Io { .. })));
        assert!(matches!(
            store.write("dir", b"{}"),
            Err(StoreError::Io { .. })
        ));
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "no temp file left behind"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unreadable_state_is_kept_aside_never_overwritten() {
        let dir = temp_dir("aside");
        fs::create_dir_all(&dir).unwrap();
        let store = JsonFileStore::new(&dir);
        let newer = br#"{"version":9,"from":"a newer release"}"#;
        fs::write(dir.join("learn.json"), newer).unwrap();
        assert!(matches!(
            store.load("learn"),
            Err(StoreError::UnsupportedVersion { found: 9, .. })
        ));
        // The engine carries on and saves: the newer file survives beside it.
        store.save("learn", &LearnState::new()).unwrap();
        let names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        let aside = names
            .iter()
            .find(|n| n.starts_with("learn.json.unreadable-"))
            .unwrap_or_else(|| panic!("{names:?}"));
        assert_eq!(fs::read(dir.join(aside)).unwrap(), newer);
        assert_eq!(store.load("learn").unwrap(), Some(LearnState::new()));

        // One that cannot be moved aside is not written over either.
        let stuck = JsonFileStore::new(&dir);
        stuck.keep.lock().unwrap().push("learn".to_owned());
        assert!(matches!(
            stuck.save("learn", &LearnState::new()),
            Err(StoreError::Io { .. })
        ));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn temp_files_of_an_interrupted_save_are_removed_at_load() {
        let dir = temp_dir("temps");
        fs::create_dir_all(&dir).unwrap();
        let store = JsonFileStore::new(&dir);
        let stale = dir.join(".learn.json.4242.0.tmp");
        let fresh = dir.join(".learn.json.4242.1.tmp");
        let other = dir.join(".other.json.4242.0.tmp");
        for path in [&stale, &fresh, &other] {
            fs::write(path, b"half a sta").unwrap();
        }
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for path in [&stale, &other] {
            fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        assert!(store.load("learn").unwrap().is_none());
        assert!(!stale.exists(), "an old temp file of this key goes");
        assert!(fresh.exists(), "a save in progress is left alone");
        assert!(other.exists(), "another key's is left alone");
        fs::remove_dir_all(&dir).unwrap();
    }
}
