//! What this binary is: the facts `build.rs` recorded, shown by `netreaktor --version`, logged
//! at start and exported as `netreaktor_build_info` (docs/operations.md, "Metrics").

/// The build facts of a binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BuildInfo {
    /// The crate version.
    pub(crate) version: &'static str,
    /// The git commit, `-dirty` when the tree had changes, `unknown` outside git.
    pub(crate) commit: &'static str,
    /// The commit's date (YYYY-MM-DD).
    pub(crate) commit_date: &'static str,
    /// The day it was built (UTC, or `SOURCE_DATE_EPOCH`'s).
    pub(crate) build_date: &'static str,
    /// The compiler's version.
    pub(crate) rustc: &'static str,
}

/// This binary's build facts.
pub(crate) const BUILD: BuildInfo = BuildInfo {
    version: env!("CARGO_PKG_VERSION"),
    commit: env!("NETREAKTOR_COMMIT"),
    commit_date: env!("NETREAKTOR_COMMIT_DATE"),
    build_date: env!("NETREAKTOR_BUILD_DATE"),
    rustc: env!("NETREAKTOR_RUSTC"),
};

/// What `--version` prints after the program's name.
pub(crate) const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("NETREAKTOR_COMMIT"),
    " of ",
    env!("NETREAKTOR_COMMIT_DATE"),
    ", built ",
    env!("NETREAKTOR_BUILD_DATE"),
    " with rustc ",
    env!("NETREAKTOR_RUSTC"),
    ")"
);
