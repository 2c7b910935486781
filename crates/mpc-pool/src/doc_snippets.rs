//! The Rust snippets of the README and of `docs/` run as doctests (`cargo
//! test -p mpc-pool --doc`), so the documentation cannot drift from the
//! API. Lines starting with `# ` in those snippets are their test set-up
//! (rustdoc hides them); blocks that are not Rust are marked (`text`, `sh`,
//! `toml`, `python`).

#[doc = include_str!("../../../README.md")]
pub struct Readme;

#[doc = include_str!("../../../docs/TLS.md")]
pub struct TlsGuide;

#[doc = include_str!("../../../docs/deployment.md")]
pub struct Deployment;

#[doc = include_str!("../../../docs/ledger.md")]
pub struct LedgerGuide;

#[doc = include_str!("../../../docs/ARCHITECTURE.md")]
pub struct Architecture;

#[doc = include_str!("../../../docs/wire-format.md")]
pub struct WireFormat;

#[doc = include_str!("../../../docs/network-emulation.md")]
pub struct NetworkEmulation;

#[doc = include_str!("../../../docs/SECURITY.md")]
pub struct Security;

#[doc = include_str!("../../../docs/benchmarks.md")]
pub struct Benchmarks;

#[doc = include_str!("../../../interop/README.md")]
pub struct InteropReadme;

#[doc = include_str!("../../../examples/README.md")]
pub struct ExamplesReadme;
