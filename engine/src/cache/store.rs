//! The process's store of cached partitions: memory within a budget, compressed Arrow IPC files
//! beyond it, least recently used partitions evicted first.
//!
//! A partition is kept whole (every batch of one partition of a cached plan) under a
//! [`PartitionKey`]. When memory runs short, the least recently used partitions of other keys
//! make room: a `memory_and_disk` partition is spilled to a file, a `memory` one is dropped (its
//! cache recomputes it from its plan when next read). The disk budget evicts files the same way.
//! The store remembers which keys it ever held, so a reader can tell a partition never computed
//! from one that was evicted ([`Lookup`]) and count recomputations.
//!
//! Spilling and reading files happen under the store's lock, so callers use it from blocking
//! threads (`spawn_blocking`), as scans already do for their reads.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::arrow::ipc::writer::{FileWriter, IpcWriteOptions};
use datafusion::arrow::ipc::CompressionType;
use datafusion::arrow::record_batch::RecordBatch;

use super::{CacheError, Storage};
use crate::output::write_atomically;

/// One partition of one cache (a cache's key changes when it is refreshed).
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct PartitionKey {
    pub cache: String,
    pub partition: usize,
}

/// The budgets of a store and where it spills.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreLimits {
    /// Bytes of Arrow arrays kept in memory.
    pub memory: u64,
    /// Bytes of spill files kept on disk.
    pub disk: u64,
    /// The folder spill files go to (created when first needed).
    pub dir: PathBuf,
}

impl Default for StoreLimits {
    /// A quarter of the machine's memory (1 GiB where it cannot be read), no disk limit, and a
    /// folder of this process's own under the temporary directory.
    fn default() -> Self {
        let memory = physical_memory().map_or(1 << 30, |total| total / 4);
        Self {
            memory,
            disk: u64::MAX,
            dir: std::env::temp_dir().join(format!("ardent-cache-{}", std::process::id())),
        }
    }
}

/// Total memory from `/proc/meminfo`; none where there is no such file.
fn physical_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// What the store holds under a key.
#[derive(Debug)]
pub enum Lookup {
    /// The partition's batches.
    Hit(Vec<RecordBatch>),
    /// Held once, evicted since: reading it means recomputing it.
    Evicted,
    /// Never held here.
    Absent,
}

/// Where a partition ended up after [`PartitionStore::put`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    Memory,
    Disk,
    /// Larger than the budgets allow: not kept, recomputed when read.
    NotKept,
}

/// One held partition, as `SHOW CACHES` and the cluster's registry report it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HeldPartition {
    pub key: PartitionKey,
    pub storage: Storage,
    pub rows: usize,
    pub memory_bytes: u64,
    pub disk_bytes: u64,
    pub hits: u64,
}

#[derive(Debug)]
enum Place {
    Memory(Vec<RecordBatch>),
    Disk(PathBuf),
}

#[derive(Debug)]
struct Entry {
    storage: Storage,
    schema: SchemaRef,
    rows: usize,
    bytes: u64,
    place: Place,
    last_used: u64,
    hits: u64,
}

/// What readers of a cache have done with it in this process, summed over its partitions
/// (kept when partitions are evicted).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct CacheCounts {
    /// Partitions read from the store.
    pub hits: u64,
    /// Partitions computed again after they were evicted or lost.
    pub recomputed: u64,
}

#[derive(Debug)]
struct Inner {
    limits: StoreLimits,
    entries: HashMap<PartitionKey, Entry>,
    ever_held: HashSet<PartitionKey>,
    counts: HashMap<String, CacheCounts>,
    /// The cache's name (as its session knows it) by key, for those who look at the store.
    names: HashMap<String, String>,
    clock: u64,
    memory_used: u64,
    disk_used: u64,
}

/// The process's cached partitions. See the [module docs](self).
#[derive(Debug)]
pub struct PartitionStore {
    inner: Mutex<Inner>,
}

impl PartitionStore {
    pub fn new(limits: StoreLimits) -> Self {
        Self {
            inner: Mutex::new(Inner {
                limits,
                entries: HashMap::new(),
                ever_held: HashSet::new(),
                counts: HashMap::new(),
                names: HashMap::new(),
                clock: 0,
                memory_used: 0,
                disk_used: 0,
            }),
        }
    }

    /// The process's store, made with [`StoreLimits::default`] when first used; executors and
    /// sessions set its budgets with [`PartitionStore::set_limits`].
    pub fn global() -> &'static PartitionStore {
        static STORE: std::sync::OnceLock<PartitionStore> = std::sync::OnceLock::new();
        STORE.get_or_init(|| PartitionStore::new(StoreLimits::default()))
    }

    pub fn limits(&self) -> StoreLimits {
        self.lock().limits.clone()
    }

    /// Changes the budgets, evicting (or spilling) what no longer fits. Partitions already
    /// spilled stay where they are when the folder changes.
    pub fn set_limits(&self, limits: StoreLimits) -> Result<(), CacheError> {
        let mut inner = self.lock();
        if inner.limits == limits {
            return Ok(());
        }
        inner.limits = limits;
        let nothing = PartitionKey {
            cache: String::new(),
            partition: usize::MAX,
        };
        PartitionStore::make_room_in_memory(&mut inner, 0, &nothing)?;
        PartitionStore::make_room_on_disk(&mut inner, 0, &nothing);
        Ok(())
    }

    /// Counts a recomputation of one of `cache`'s partitions.
    pub fn note_recompute(&self, cache: &str) {
        self.lock()
            .counts
            .entry(cache.to_string())
            .or_default()
            .recomputed += 1;
    }

    /// Records the name of the cache stored under `cache` (a key): stores know caches by key.
    pub fn note_name(&self, cache: &str, name: &str) {
        let mut inner = self.lock();
        if !inner.names.contains_key(cache) {
            inner.names.insert(cache.to_string(), name.to_string());
        }
    }

    /// The names of the caches this store has held, by key.
    pub fn names(&self) -> Vec<(String, String)> {
        let mut all: Vec<_> = self
            .lock()
            .names
            .iter()
            .map(|(k, n)| (k.clone(), n.clone()))
            .collect();
        all.sort();
        all
    }

    /// What readers did with each cache key this process has read.
    pub fn counts_by_cache(&self) -> Vec<(String, CacheCounts)> {
        let inner = self.lock();
        let mut all: Vec<_> = inner.counts.iter().map(|(k, c)| (k.clone(), *c)).collect();
        all.sort();
        all
    }

    /// What readers did with the caches whose key starts with `prefix`, summed.
    pub fn counts(&self, prefix: &str) -> CacheCounts {
        let inner = self.lock();
        inner
            .counts
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .fold(CacheCounts::default(), |sum, (_, c)| CacheCounts {
                hits: sum.hits + c.hits,
                recomputed: sum.recomputed + c.recomputed,
            })
    }

    /// Bytes in memory and on disk now.
    pub fn usage(&self) -> (u64, u64) {
        let inner = self.lock();
        (inner.memory_used, inner.disk_used)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves counts that are still consistent
        // enough to keep serving: every mutation below completes before it can fail.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps `batches` as the partition `key` at `storage`, replacing what was there, making
    /// room by evicting the least recently used partitions of other keys.
    pub fn put(
        &self,
        key: PartitionKey,
        storage: Storage,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
    ) -> Result<Placement, CacheError> {
        let rows = batches.iter().map(RecordBatch::num_rows).sum();
        let bytes: u64 = batches
            .iter()
            .map(|b| b.get_array_memory_size() as u64)
            .sum();
        let mut inner = self.lock();
        inner.remove(&key);
        let in_memory = storage != Storage::Disk && bytes <= inner.limits.memory;
        let (place, bytes) = if in_memory {
            PartitionStore::make_room_in_memory(&mut inner, bytes, &key)?;
            inner.memory_used += bytes;
            (Place::Memory(batches), bytes)
        } else if storage == Storage::Memory {
            inner.ever_held.insert(key);
            return Ok(Placement::NotKept);
        } else {
            let path = inner.spill_path(&key);
            let file_bytes = write_spill(&path, &schema, &batches)?;
            if !PartitionStore::make_room_on_disk(&mut inner, file_bytes, &key) {
                let _ = std::fs::remove_file(&path);
                inner.ever_held.insert(key);
                return Ok(Placement::NotKept);
            }
            inner.disk_used += file_bytes;
            (Place::Disk(path), file_bytes)
        };
        let placement = match place {
            Place::Memory(_) => Placement::Memory,
            Place::Disk(_) => Placement::Disk,
        };
        inner.ever_held.insert(key.clone());
        let last_used = inner.tick();
        inner.entries.insert(
            key,
            Entry {
                storage,
                schema,
                rows,
                bytes,
                place,
                last_used,
                hits: 0,
            },
        );
        Ok(placement)
    }

    /// The partition `key`, read back from its file when it was spilled.
    pub fn get(&self, key: &PartitionKey) -> Result<Lookup, CacheError> {
        let mut inner = self.lock();
        let now = inner.tick();
        let Some(entry) = inner.entries.get_mut(key) else {
            return Ok(if inner.ever_held.contains(key) {
                Lookup::Evicted
            } else {
                Lookup::Absent
            });
        };
        entry.last_used = now;
        entry.hits += 1;
        let hit = match &entry.place {
            Place::Memory(batches) => Ok(Lookup::Hit(batches.clone())),
            Place::Disk(path) => read_spill(path).map(Lookup::Hit),
        };
        inner.counts.entry(key.cache.clone()).or_default().hits += 1;
        hit
    }

    /// Forgets every partition of the caches whose key starts with `prefix` (a cache's id
    /// covers all its refreshes), deleting their files; returns how many there were.
    pub fn remove_cache(&self, prefix: &str) -> usize {
        self.remove_where(|cache| cache.starts_with(prefix))
    }

    /// Forgets every partition of the cache keys `doomed` picks, deleting their files; returns
    /// how many there were.
    pub fn remove_where(&self, doomed: impl Fn(&str) -> bool) -> usize {
        let mut inner = self.lock();
        let keys: Vec<PartitionKey> = inner
            .entries
            .keys()
            .filter(|k| doomed(&k.cache))
            .cloned()
            .collect();
        for key in &keys {
            inner.remove(key);
        }
        inner.ever_held.retain(|k| !doomed(&k.cache));
        inner.counts.retain(|k, _| !doomed(k));
        keys.len()
    }

    /// Every held partition, ordered by key.
    pub fn held(&self) -> Vec<HeldPartition> {
        let inner = self.lock();
        let mut held: Vec<HeldPartition> = inner
            .entries
            .iter()
            .map(|(key, e)| {
                let (memory_bytes, disk_bytes) = match e.place {
                    Place::Memory(_) => (e.bytes, 0),
                    Place::Disk(_) => (0, e.bytes),
                };
                HeldPartition {
                    key: key.clone(),
                    storage: e.storage,
                    rows: e.rows,
                    memory_bytes,
                    disk_bytes,
                    hits: e.hits,
                }
            })
            .collect();
        held.sort_by(|a, b| a.key.cmp(&b.key));
        held
    }

    /// Evicts least recently used memory partitions (not `keep`'s) until `bytes` more fit:
    /// `memory_and_disk` ones are spilled, `memory` ones dropped.
    fn make_room_in_memory(
        inner: &mut Inner,
        bytes: u64,
        keep: &PartitionKey,
    ) -> Result<(), CacheError> {
        while inner.memory_used + bytes > inner.limits.memory {
            let Some(victim) = inner.least_recently_used(keep, |p| matches!(p, Place::Memory(_)))
            else {
                break;
            };
            let entry = inner.entries.remove(&victim).expect("victim is held");
            inner.memory_used -= entry.bytes;
            if entry.storage != Storage::MemoryAndDisk {
                tracing::debug!(cache = %victim.cache, partition = victim.partition, "evicted from memory");
                continue;
            }
            let Place::Memory(batches) = entry.place else {
                unreachable!("the victim was chosen in memory")
            };
            let path = inner.spill_path(&victim);
            let file_bytes = write_spill(&path, &entry.schema, &batches)?;
            if !PartitionStore::make_room_on_disk(inner, file_bytes, &victim) {
                let _ = std::fs::remove_file(&path);
                continue;
            }
            tracing::debug!(cache = %victim.cache, partition = victim.partition, file_bytes, "spilled");
            inner.disk_used += file_bytes;
            inner.entries.insert(
                victim,
                Entry {
                    bytes: file_bytes,
                    place: Place::Disk(path),
                    ..entry
                },
            );
        }
        Ok(())
    }

    /// Deletes least recently used spill files (not `keep`'s) until `bytes` more fit; false
    /// when they cannot.
    fn make_room_on_disk(inner: &mut Inner, bytes: u64, keep: &PartitionKey) -> bool {
        while inner.disk_used.saturating_add(bytes) > inner.limits.disk {
            match inner.least_recently_used(keep, |p| matches!(p, Place::Disk(_))) {
                Some(victim) => inner.remove(&victim),
                None => return false,
            }
        }
        true
    }
}

impl Inner {
    fn spill_path(&self, key: &PartitionKey) -> PathBuf {
        self.limits
            .dir
            .join(&key.cache)
            .join(format!("{}.arrow", key.partition))
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    fn least_recently_used(
        &self,
        keep: &PartitionKey,
        placed: impl Fn(&Place) -> bool,
    ) -> Option<PartitionKey> {
        self.entries
            .iter()
            .filter(|(k, e)| *k != keep && placed(&e.place))
            .min_by_key(|(_, e)| e.last_used)
            .map(|(k, _)| k.clone())
    }

    /// Drops `key`'s entry and its file, keeping the counts right.
    fn remove(&mut self, key: &PartitionKey) {
        if let Some(entry) = self.entries.remove(key) {
            match entry.place {
                Place::Memory(_) => self.memory_used -= entry.bytes,
                Place::Disk(path) => {
                    self.disk_used -= entry.bytes;
                    let _ = std::fs::remove_file(path);
                }
            }
        }
    }
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Writes `batches` as a zstd-compressed Arrow IPC file, atomically; returns its size.
fn write_spill(
    path: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<u64, CacheError> {
    let failed = |message: String| CacheError::File {
        path: path.to_path_buf(),
        message,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| failed(e.to_string()))?;
    }
    write_atomically(path, |partial| {
        let file = File::create(partial).map_err(|e| e.to_string())?;
        let options = IpcWriteOptions::default()
            .try_with_compression(Some(CompressionType::ZSTD))
            .map_err(|e| e.to_string())?;
        let mut writer =
            FileWriter::try_new_with_options(file, schema, options).map_err(|e| e.to_string())?;
        for batch in batches {
            writer.write(batch).map_err(|e| e.to_string())?;
        }
        writer.finish().map_err(|e| e.to_string())
    })
    .map_err(|e| failed(e.reason))?;
    Ok(file_size(path))
}

fn read_spill(path: &Path) -> Result<Vec<RecordBatch>, CacheError> {
    let failed = |message: String| CacheError::File {
        path: path.to_path_buf(),
        message,
    };
    let file = File::open(path).map_err(|e| failed(e.to_string()))?;
    let reader = FileReader::try_new(file, None).map_err(|e| failed(e.to_string()))?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| failed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]))
    }

    /// A partition of `rows` values starting at `first`.
    fn partition(first: i64, rows: i64) -> Vec<RecordBatch> {
        let values = Int64Array::from_iter_values(first..first + rows);
        vec![RecordBatch::try_new(schema(), vec![Arc::new(values)]).unwrap()]
    }

    fn key(cache: &str, partition: usize) -> PartitionKey {
        PartitionKey {
            cache: cache.to_string(),
            partition,
        }
    }

    fn bytes_of(batches: &[RecordBatch]) -> u64 {
        batches
            .iter()
            .map(|b| b.get_array_memory_size() as u64)
            .sum()
    }

    fn store(dir: &Path, partitions_in_memory: u64) -> PartitionStore {
        PartitionStore::new(StoreLimits {
            memory: bytes_of(&partition(0, 1000)) * partitions_in_memory,
            disk: u64::MAX,
            dir: dir.to_path_buf(),
        })
    }

    fn hit(store: &PartitionStore, key: &PartitionKey) -> Vec<RecordBatch> {
        match store.get(key).unwrap() {
            Lookup::Hit(batches) => batches,
            other => panic!("{key:?}: expected a hit, got {other:?}"),
        }
    }

    #[test]
    fn spills_the_least_recently_used_and_reads_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path(), 2);
        for p in 0..2 {
            let placed = store
                .put(
                    key("a", p),
                    Storage::MemoryAndDisk,
                    schema(),
                    partition(p as i64 * 1000, 1000),
                )
                .unwrap();
            assert_eq!(placed, Placement::Memory);
        }
        hit(&store, &key("a", 0)); // partition 1 is now the least recently used
        store
            .put(
                key("a", 2),
                Storage::MemoryAndDisk,
                schema(),
                partition(2000, 1000),
            )
            .unwrap();
        let held = store.held();
        let on_disk: Vec<usize> = held
            .iter()
            .filter(|h| h.disk_bytes > 0)
            .map(|h| h.key.partition)
            .collect();
        assert_eq!(on_disk, vec![1]);
        assert!(dir.path().join("a/1.arrow").is_file());
        for p in 0..3 {
            assert_eq!(hit(&store, &key("a", p)), partition(p as i64 * 1000, 1000));
        }
        let (memory, disk) = store.usage();
        assert!(memory <= store.limits().memory);
        // zstd makes a run of integers far smaller than its arrays.
        assert!(disk > 0 && disk < bytes_of(&partition(0, 1000)), "{disk}");
    }

    #[test]
    fn memory_partitions_are_dropped_and_reported_evicted() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path(), 1);
        store
            .put(key("m", 0), Storage::Memory, schema(), partition(0, 1000))
            .unwrap();
        store
            .put(
                key("m", 1),
                Storage::Memory,
                schema(),
                partition(1000, 1000),
            )
            .unwrap();
        assert!(matches!(store.get(&key("m", 0)).unwrap(), Lookup::Evicted));
        assert!(matches!(store.get(&key("m", 7)).unwrap(), Lookup::Absent));
        assert_eq!(hit(&store, &key("m", 1)), partition(1000, 1000));
        assert!(std::fs::read_dir(dir.path()).map_or(true, |mut d| d.next().is_none()));
    }

    #[test]
    fn too_large_for_memory_goes_to_disk_or_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path(), 1);
        let big = partition(0, 5000);
        let placed = store
            .put(key("d", 0), Storage::MemoryAndDisk, schema(), big.clone())
            .unwrap();
        assert_eq!(placed, Placement::Disk);
        assert_eq!(hit(&store, &key("d", 0)), big);
        let placed = store
            .put(key("m", 0), Storage::Memory, schema(), big)
            .unwrap();
        assert_eq!(placed, Placement::NotKept);
        assert!(matches!(store.get(&key("m", 0)).unwrap(), Lookup::Evicted));
    }

    #[test]
    fn the_disk_budget_evicts_the_oldest_file() {
        let dir = tempfile::tempdir().unwrap();
        let one_file = {
            let probe = PartitionStore::new(StoreLimits {
                memory: 0,
                disk: u64::MAX,
                dir: dir.path().join("probe"),
            });
            probe
                .put(key("p", 0), Storage::Disk, schema(), partition(0, 1000))
                .unwrap();
            probe.usage().1
        };
        let store = PartitionStore::new(StoreLimits {
            memory: u64::MAX,
            disk: one_file * 2 + one_file / 2,
            dir: dir.path().join("store"),
        });
        for p in 0..3 {
            store
                .put(key("d", p), Storage::Disk, schema(), partition(0, 1000))
                .unwrap();
        }
        let held: Vec<usize> = store.held().iter().map(|h| h.key.partition).collect();
        assert_eq!(held, vec![1, 2]);
        assert!(!dir.path().join("store/d/0.arrow").exists());
        assert!(store.usage().1 <= store.limits().disk);
    }

    #[test]
    fn removing_a_cache_frees_its_memory_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path(), 4);
        store
            .put(key("x.1", 0), Storage::Memory, schema(), partition(0, 10))
            .unwrap();
        store
            .put(key("x.2", 0), Storage::Disk, schema(), partition(0, 10))
            .unwrap();
        store
            .put(key("y.1", 0), Storage::Memory, schema(), partition(0, 10))
            .unwrap();
        assert_eq!(store.remove_cache("x."), 2);
        assert!(!dir.path().join("x.2/0.arrow").exists());
        assert_eq!(store.held().len(), 1);
        assert!(matches!(store.get(&key("x.1", 0)).unwrap(), Lookup::Absent));
        assert_eq!(store.usage().1, 0);
    }

    #[test]
    fn an_unwritable_spill_folder_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"not a folder").unwrap();
        let store = PartitionStore::new(StoreLimits {
            memory: 0,
            disk: u64::MAX,
            dir: blocker.clone(),
        });
        let error = store
            .put(key("d", 0), Storage::Disk, schema(), partition(0, 10))
            .unwrap_err()
            .to_string();
        assert!(error.contains(&blocker.display().to_string()), "{error}");
        assert!(store.held().is_empty());
    }
}
