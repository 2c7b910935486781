//! The ledger overhead (issue 12): `mpc` of the commit just before the
//! ledger landed (the first parent of its merge, [`LEDGER_MERGE`]) against
//! this workspace's, 16 B over plain HTTP, one and 64 messages in flight,
//! interleaved, the same number of runs each.
//!
//! The old `mpc` is built in a git worktree at target/bench/before/tree
//! with its own target directory, target/bench/before/target (release,
//! `-p mpc-cli` only). The file target/bench/before/commit names the commit
//! its binary was built from: a later run with the same commit reuses the
//! binary without building. After a build the worktree is removed
//! (`git worktree remove --force`), so no worktree registration is left
//! behind; the target directory stays. If the commit is not in the clone
//! (a shallow clone) or does not build, the page says so and the run goes
//! on.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use super::programs::Setup;
use super::results::{Build, Overhead};
use super::Measuring;

/// The merge commit of the ledger (issue 12).
pub(super) const LEDGER_MERGE: &str = "f8f7c96";

/// A file only trees with the ledger have.
const LEDGER_FILE: &str = "crates/mpc-pool/src/ledger.rs";

/// Messages of a 16 B run, one in flight and [`IN_FLIGHT`] in flight.
fn counts(quick: bool) -> (u64, u64) {
    if quick {
        (300, 3_000)
    } else {
        (2_000, 20_000)
    }
}

/// Messages in flight of the rate runs.
pub(super) const IN_FLIGHT: u64 = 64;

/// The output of `git args` in `root`, trimmed.
fn git(root: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root)
        .stderr(Stdio::null())
        .output()
        .with_context(|| format!("running git {}", args.join(" ")))?;
    if !out.status.success() {
        bail!("git {} failed ({})", args.join(" "), out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The commit before the ledger: (full hash, short hash, commits from it
/// to HEAD).
fn before_commit(root: &Path) -> Result<(String, String, u64)> {
    let commit = git(
        root,
        &[
            "rev-parse",
            "--verify",
            &format!("{LEDGER_MERGE}^1^{{commit}}"),
        ],
    )
    .with_context(|| {
        format!(
            "the ledger's merge commit {LEDGER_MERGE} or its first parent is not in this clone \
             (a shallow clone?)"
        )
    })?;
    if git(
        root,
        &["cat-file", "-e", &format!("{commit}:{LEDGER_FILE}")],
    )
    .is_ok()
    {
        bail!("{commit} already has {LEDGER_FILE}: not the tree before the ledger");
    }
    let short = git(root, &["rev-parse", "--short", &commit])?;
    let count = git(root, &["rev-list", "--count", &format!("{commit}..HEAD")])?
        .parse()
        .context("git rev-list --count")?;
    Ok((commit, short, count))
}

/// The `mpc` of `commit`, built under `dir` (target/bench/before) unless
/// the binary there was built from it already.
fn build_before(
    root: &Path,
    dir: &Path,
    commit: &str,
    cargo: &std::ffi::OsStr,
    logs: &Path,
) -> Result<PathBuf> {
    let stamp = dir.join("commit");
    let target = dir.join("target");
    let bin = target
        .join("release")
        .join(format!("mpc{}", std::env::consts::EXE_SUFFIX));
    if bin.is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == commit) {
        eprintln!("bench: reusing {} (built from {commit})", bin.display());
        return Ok(bin);
    }
    let _ = std::fs::remove_file(&stamp);
    let tree = dir.join("tree");
    let tree_arg = tree.display().to_string();
    // a checkout left by an interrupted run is used as it is (its files'
    // times match what its target directory was built from)
    let checked_out = git(&tree, &["rev-parse", "HEAD"]).is_ok_and(|c| c == commit)
        && git(&tree, &["status", "--porcelain"]).is_ok_and(|s| s.is_empty());
    if !checked_out {
        if tree.exists() {
            let _ = git(root, &["worktree", "remove", "--force", &tree_arg]);
            if tree.exists() {
                std::fs::remove_dir_all(&tree)
                    .with_context(|| format!("removing {}", tree.display()))?;
            }
        }
        let _ = git(root, &["worktree", "prune"]);
        std::fs::create_dir_all(dir)?;
        git(root, &["worktree", "add", "--detach", &tree_arg, commit])
            .context("checking out the commit before the ledger (git worktree add)")?;
    }
    eprintln!(
        "bench: building mpc of {commit} (before the ledger) in {}; log: {}",
        tree.display(),
        logs.join("before-ledger-build.log").display()
    );
    let log = std::fs::File::create(logs.join("before-ledger-build.log"))?;
    let built = Command::new(cargo)
        .args(["build", "--release", "-p", "mpc-cli"])
        .current_dir(&tree)
        .env("CARGO_TARGET_DIR", &target)
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("running cargo build for the commit before the ledger");
    // the checkout is not needed any more, built or not
    let _ = git(root, &["worktree", "remove", "--force", &tree_arg]);
    let status = built?;
    if !status.success() || !bin.is_file() {
        bail!("building mpc of {commit} failed ({status}); see target/bench/logs/before-ledger-build.log");
    }
    std::fs::write(&stamp, format!("{commit}\n"))?;
    Ok(bin)
}

/// The build of the commit before the ledger, made before the
/// measurements start: the binary and what the page says about it, or why
/// there is none.
pub(super) struct Before {
    mpc: Option<PathBuf>,
    overhead: Overhead,
}

/// Finds and builds (or reuses) the `mpc` of the commit before the ledger,
/// under `work`/before; a failure is kept for the page.
pub(super) fn prepare(root: &Path, work: &Path, cargo: &std::ffi::OsStr, logs: &Path) -> Before {
    let mut overhead = Overhead::default();
    let mpc = before_commit(root)
        .and_then(|(commit, short, commits)| {
            overhead.commit = Some(short);
            overhead.commits = Some(commits);
            build_before(root, &work.join("before"), &commit, cargo, logs)
        })
        .map_err(|e| {
            eprintln!("bench: the ledger overhead will not be measured: {e:#}");
            overhead.failed = Some(format!("{e:#}"));
        })
        .ok();
    Before { mpc, overhead }
}

impl Measuring<'_> {
    /// The ledger overhead: both builds interleaved, the same number of
    /// runs each. A failed run ends the step (what it measured so far is
    /// kept) and the page says so; the run goes on.
    pub(super) fn overhead(&mut self, before: Before) {
        let Before { mpc, mut overhead } = before;
        if let Some(mpc) = mpc {
            if let Err(e) = self.overhead_runs(&mpc, &mut overhead) {
                eprintln!("bench: ledger overhead: {e:#}");
                overhead.failed = Some(format!("{e:#}"));
            }
        }
        self.res.overhead = Some(overhead);
    }

    fn overhead_runs(&mut self, before: &Path, o: &mut Overhead) -> Result<()> {
        let reps = if self.opts.quick { 1 } else { self.opts.reps };
        let (n1, n64) = counts(self.opts.quick);
        for rep in 0..reps {
            self.load.sample();
            eprintln!(
                "bench: rep {}/{reps} ledger overhead (16 B, 1 and {IN_FLIGHT} in flight, before \
                 and now)",
                rep + 1
            );
            // alternate which build goes first
            let order = if rep % 2 == 0 {
                [Build::Before, Build::Now]
            } else {
                [Build::Now, Build::Before]
            };
            for (inflight, count) in [(1, n1), (IN_FLIGHT, n64)] {
                for build in order {
                    let setup = Setup {
                        mpc: (build == Build::Before).then_some(before),
                        ..Setup::default()
                    };
                    let m = self.bins.mpc_pair_with(setup, 16, count, inflight)?;
                    o.runs.entry((build, inflight)).or_default().push(m);
                }
            }
        }
        Ok(())
    }
}
