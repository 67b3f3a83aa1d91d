//! The store-mode flags, a group of their own: the in-process store is built from exactly
//! these (see [`crate::backend::store::Store::new`]), and `export-store` reads them too.
//!
//! Each flag is `global`, so it may be given before or after a subcommand
//! (`gpo-gateway export-store out.json --store-path gateway.db`).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::duration::between;

/// Where the store's data comes from and how much it may hold.
#[derive(Debug, Clone, Args)]
pub struct StoreConfig {
    /// Store mode: load this JSON seed instead of the demo data (format of src/backend/demo_seed.json).
    #[arg(
        long,
        env = "GPO_GATEWAY_SEED",
        conflicts_with = "no_seed",
        global = true
    )]
    pub seed: Option<PathBuf>,

    /// Store mode: start with an empty store.
    #[arg(long, env = "GPO_GATEWAY_NO_SEED", global = true)]
    pub no_seed: bool,

    /// Store mode: most operations the store holds before creates fail with LIMIT_EXCEEDED.
    #[arg(
        long,
        env = "GPO_GATEWAY_STORE_CAPACITY",
        default_value_t = 100_000,
        global = true
    )]
    pub store_capacity: usize,

    /// Store mode: time the simulated Intune takes to process an upload or a definition file
    /// action before the file ends AVAILABLE or failed (0 to 10m).
    #[arg(long, env = "GPO_GATEWAY_STORE_PROCESSING_DELAY", default_value = "2s", global = true,
          value_name = "DURATION", value_parser = between(Duration::ZERO, Duration::from_secs(600)))]
    pub store_processing_delay: Duration,

    /// Store mode: keep the store in this SQLite file (created if missing) so it survives
    /// restarts and crashes; every write is on disk before it is answered. Unset: in memory.
    #[arg(
        long,
        env = "GPO_GATEWAY_STORE_PATH",
        value_name = "FILE",
        global = true
    )]
    pub store_path: Option<PathBuf>,

    /// Store mode: most bytes the store holds (files' ADMX and ADML contents, work being
    /// processed, and 128 bytes plus the statusDetails of each operation); a write that would
    /// go over fails with LIMIT_EXCEEDED.
    #[arg(long, env = "GPO_GATEWAY_STORE_MAX_BYTES", default_value_t = 256 * 1024 * 1024, global = true)]
    pub store_max_bytes: usize,

    /// Deprecated: use `gpo-gateway export-store FILE`, which does the same. Kept, hidden, for
    /// scripts written before the subcommand.
    #[arg(
        long,
        env = "GPO_GATEWAY_EXPORT_STORE",
        value_name = "FILE",
        hide = true
    )]
    pub export_store: Option<PathBuf>,
}

impl StoreConfig {
    /// An in-memory store of at most `capacity` operations whose simulated processing ends at
    /// once and that holds any number of bytes: for tests, and for the `schema` subcommand.
    pub fn immediate(capacity: usize) -> Self {
        StoreConfig {
            seed: None,
            no_seed: true,
            store_capacity: capacity,
            store_processing_delay: Duration::ZERO,
            store_path: None,
            store_max_bytes: usize::MAX,
            export_store: None,
        }
    }
}
