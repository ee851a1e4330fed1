//! The project-files flags: project quotas, zip import limits, the search cache and
//! disk-backed folders.

use std::path::PathBuf;

use clap::Args as ClapArgs;

#[derive(ClapArgs, Debug, Clone)]
// Each feature's flags are a group named for the feature: four structs all called `Args` would
// share one group id, which clap's debug assertions refuse.
#[group(id = "files_args")]
pub struct Args {
    /// Largest zip upload accepted by "Import from zip", in bytes.
    #[arg(long, env = "TANDEM_IMPORT_MAX_UPLOAD_BYTES", default_value_t = 100 << 20, global = true)]
    pub import_max_upload_bytes: usize,

    /// Largest total size an imported zip may unpack to, in bytes (zip bombs stop here).
    #[arg(long, env = "TANDEM_IMPORT_MAX_UNPACKED_BYTES", default_value_t = 500 << 20, global = true)]
    pub import_max_unpacked_bytes: u64,

    /// Largest size one file of an imported zip may unpack to, in bytes: an import holds one
    /// file in memory at a time, so this bounds its memory.
    #[arg(long, env = "TANDEM_IMPORT_MAX_FILE_BYTES", default_value_t = 64 << 20, global = true)]
    pub import_max_file_bytes: u64,

    /// Zip imports and exports the server builds at once (each compresses or inflates a whole
    /// project); more wait up to 10 s, then are told the server is busy.
    #[arg(
        long,
        env = "TANDEM_MAX_CONCURRENT_ARCHIVES",
        default_value_t = 2,
        global = true
    )]
    pub max_concurrent_archives: usize,

    /// Files and folders one project may hold (trashed ones count until the trash is
    /// emptied). Folders served from disk (`--dir`) are not limited.
    #[arg(
        long,
        env = "TANDEM_MAX_FILES_PER_PROJECT",
        default_value_t = 50_000,
        global = true
    )]
    pub max_files_per_project: u64,

    /// Days the text files of an emptied trash are kept, with their history, before they are
    /// deleted for good (owners can bring them back meanwhile; kept files do not count toward
    /// the project's quota). 0 deletes them at once.
    #[arg(
        long,
        env = "TANDEM_TRASH_RETENTION_DAYS",
        default_value_t = 30,
        global = true
    )]
    pub trash_retention_days: u32,

    /// Bytes one project may store (documents with their edit logs, binary files), checked
    /// when files are created, duplicated or imported.
    #[arg(long, env = "TANDEM_MAX_PROJECT_BYTES", default_value_t = 1 << 30, global = true)]
    pub max_project_bytes: u64,

    /// Bytes of file text the search cache keeps (least recently searched documents go
    /// first).
    #[arg(long, env = "TANDEM_SEARCH_CACHE_BYTES", default_value_t = 128 << 20, global = true)]
    pub search_cache_bytes: usize,

    /// Most files an imported zip may hold.
    #[arg(
        long,
        env = "TANDEM_IMPORT_MAX_FILES",
        default_value_t = 20_000,
        global = true
    )]
    pub import_max_files: usize,

    /// A directory on this machine to serve as a disk-backed project (repeatable, or
    /// comma-separated in the environment). Its files are imported, browser edits are written
    /// back, and changes made on disk appear live. The project is created on first start.
    #[arg(
        long = "dir",
        env = "TANDEM_DIRS",
        value_delimiter = ',',
        global = true
    )]
    pub dirs: Vec<PathBuf>,

    /// The account that owns the projects created for `--dir`. Required with `--dir`: a
    /// default ("the first account") would hand the folders to whoever signs up first.
    #[arg(long, env = "TANDEM_DIR_OWNER", global = true)]
    pub dir_owner: Option<String>,

    /// Names skipped in disk-backed projects, besides `.gitignore`d paths and `.git`.
    #[arg(
        long,
        env = "TANDEM_DIR_IGNORE",
        value_delimiter = ',',
        default_value = "node_modules,target",
        global = true
    )]
    pub dir_ignore: Vec<String>,

    /// Milliseconds between an edit and writing the file to disk (edits in between are
    /// written together).
    #[arg(
        long,
        env = "TANDEM_DIR_FLUSH_MS",
        default_value_t = 200,
        global = true
    )]
    pub dir_flush_ms: u64,
}

impl Args {
    pub fn import_limits(&self) -> super::archive::ImportLimits {
        super::archive::ImportLimits {
            max_upload_bytes: self.import_max_upload_bytes,
            max_unpacked_bytes: self.import_max_unpacked_bytes,
            max_file_bytes: self.import_max_file_bytes,
            max_files: self.import_max_files,
        }
    }

    pub fn quota(&self) -> super::quota::Quota {
        super::quota::Quota {
            max_entries: self.max_files_per_project,
            max_bytes: self.max_project_bytes,
        }
    }
}
