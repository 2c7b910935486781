//! `mpc certs`: generate a throw-away test PKI for mutual TLS.
//!
//! The same as `cargo xtask certs`, shipped for people deploying parties.
//! The key generation is `mpc_http::certs::generate`; the argument rules
//! and the file writing below are copied from `xtask/src/certs.rs` (to be
//! moved into `mpc-http` and shared).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, ensure, Context, Result};
use clap::Args;
use mpc_http::certs::{generate as generate_pki, Bundle, OffsetDateTime, CA_COMMON_NAME};

pub(crate) const DEFAULT_DAYS: u32 = 365;
pub(crate) const MAX_DAYS: u32 = 36_500;
const MAX_NAME_LEN: usize = 63;

/// `mpc help certs`.
pub(crate) const ABOUT: &str = "\
Generate a fresh test CA and one mutual-TLS certificate per party \
(ECDSA P-256; serverAuth + clientAuth; SANs localhost, 127.0.0.1, ::1, NAME; \
subject CN = NAME, as the pool's CN rule expects).

Writes DIR/ca.crt, DIR/ca.key, DIR/NAME.crt, DIR/NAME.key and DIR/README.txt \
(which files go to which party); key files are PKCS#8 PEM with mode 0600 \
(on Unix). Refuses to overwrite existing files unless --force is given. Keep \
ca.key away from the parties: whoever holds it can mint certificates every \
party accepts. Meant for tests and small deployments you run yourself.";

/// The arguments of `mpc certs`.
#[derive(Debug, Args)]
pub(crate) struct CertsArgs {
    /// Comma-separated party names (ASCII letters, digits, '-', '_', '.';
    /// not starting with '.' or '-'; `ca` is reserved).
    #[arg(long, value_name = "NAME,NAME,...", value_parser = parse_party_list)]
    pub(crate) parties: PartyList,

    /// Output directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,

    /// Validity in days from now (certificates are back-dated one day for clock skew).
    #[arg(
        long,
        value_name = "N",
        default_value_t = DEFAULT_DAYS,
        value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_DAYS))
    )]
    pub(crate) days: u32,

    /// Overwrite existing files in DIR.
    #[arg(long)]
    pub(crate) force: bool,
}

/// The validated `--parties` list of `mpc certs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartyList(pub(crate) Vec<String>);

/// The `--parties` value parser.
fn parse_party_list(s: &str) -> std::result::Result<PartyList, String> {
    parse_parties(s)
        .map(PartyList)
        .map_err(|e| format!("{e:#}"))
}

/// Splits and validates a `--parties` list.
pub(crate) fn parse_parties(list: &str) -> Result<Vec<String>> {
    let mut seen = HashSet::new();
    let mut parties = Vec::new();
    for (i, name) in list.split(',').map(str::trim).enumerate() {
        ensure!(
            !name.is_empty(),
            "--parties entry #{} is empty (stray comma?) in {list:?}",
            i + 1
        );
        validate_party_name(name)?;
        // Case-insensitive: `Alice.crt` and `alice.crt` collide on some file systems.
        ensure!(
            seen.insert(name.to_ascii_lowercase()),
            "duplicate party name {name:?} in --parties (names are compared case-insensitively)"
        );
        parties.push(name.to_owned());
    }
    Ok(parties)
}

fn validate_party_name(name: &str) -> Result<()> {
    ensure!(!name.is_empty(), "party names must not be empty");
    ensure!(
        name.len() <= MAX_NAME_LEN,
        "party name {name:?} is longer than {MAX_NAME_LEN} characters"
    );
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        bail!(
            "party name {name:?} contains {bad:?}; only ASCII letters, digits, '-', '_' and '.' are allowed"
        );
    }
    ensure!(
        !name.starts_with(['.', '-']),
        "party name {name:?} must not start with '.' or '-'"
    );
    ensure!(
        !name.eq_ignore_ascii_case("ca"),
        "party name {name:?} is reserved (it would clash with ca.crt/ca.key)"
    );
    Ok(())
}

/// One file to write.
#[derive(Debug)]
struct OutFile {
    name: String,
    contents: String,
    secret: bool,
}

fn out_files(bundle: &Bundle, days: u32) -> Vec<OutFile> {
    let mut files = vec![
        OutFile {
            name: "ca.crt".into(),
            contents: bundle.ca.cert_pem.clone(),
            secret: false,
        },
        OutFile {
            name: "ca.key".into(),
            contents: bundle.ca.key_pem.clone(),
            secret: true,
        },
    ];
    for (name, issued) in &bundle.parties {
        files.push(OutFile {
            name: format!("{name}.crt"),
            contents: issued.cert_pem.clone(),
            secret: false,
        });
        files.push(OutFile {
            name: format!("{name}.key"),
            contents: issued.key_pem.clone(),
            secret: true,
        });
    }
    files.push(OutFile {
        name: "README.txt".into(),
        contents: readme(bundle, days),
        secret: false,
    });
    files
}

/// A Python party with TLS, the one program docs/TLS.md ("Mixed pools")
/// shows and the interop suite runs (a test keeps them equal).
pub(crate) const PYTHON_PARTY: &str = include_str!("python_party.py");

/// `text` indented by four spaces (blank lines stay empty).
fn indent(text: &str) -> String {
    text.trim_end()
        .lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("    {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn readme(bundle: &Bundle, days: u32) -> String {
    let names: Vec<&str> = bundle.parties.iter().map(|(n, _)| n.as_str()).collect();
    let width = names
        .iter()
        .map(|n| n.len() + 4)
        .chain([10])
        .max()
        .unwrap_or(10);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "mpc-pool TEST certificates -- generated by `mpc certs`.\n\
         NOT for production use: the CA key below can mint certificates for anyone.\n\
         \n\
         Parties: {}\n\
         Valid:   {} to {} UTC ({days} days, back-dated 1 day for clock skew)\n\
         Keys:    ECDSA P-256, PEM, PKCS#8 (unencrypted)\n\
         \n\
         Files\n\
         -----",
        names.join(", "),
        bundle.not_before.date(),
        bundle.not_after.date(),
    );
    let _ = writeln!(
        s,
        "{:width$}  CA certificate (CN \"{CA_COMMON_NAME}\"): the trust anchor. Every party gets it.",
        "ca.crt"
    );
    let _ = writeln!(
        s,
        "{:width$}  CA private key. Stays with whoever issues certificates; give it to NO party.",
        "ca.key"
    );
    for name in &names {
        let _ = writeln!(
            s,
            "{:width$}  {name}'s certificate (CN={name}; SANs localhost, 127.0.0.1, ::1, {name};\n\
             {:width$}  serverAuth + clientAuth). Public: {name} uses it, peers may pin it.",
            format!("{name}.crt"),
            ""
        );
        let _ = writeln!(
            s,
            "{:width$}  {name}'s private key. Secret: only {name} gets it.",
            format!("{name}.key")
        );
    }
    let _ = writeln!(
        s,
        "{:width$}  this file.\n\
         \n\
         What to give each party\n\
         -----------------------",
        "README.txt"
    );
    for name in &names {
        let peers: Vec<String> = names
            .iter()
            .filter(|p| *p != name)
            .map(|p| format!("{p}.crt"))
            .collect();
        let peers = if peers.is_empty() {
            String::new()
        } else {
            format!(
                " (+ {} only if it pins peer certificates)",
                peers.join(", ")
            )
        };
        let _ = writeln!(s, "  {name}: {name}.crt, {name}.key, ca.crt{peers}");
    }
    let _ = writeln!(
        s,
        "\n\
         Each party presents NAME.crt/NAME.key both as TLS server and as TLS client, and\n\
         verifies peers against ca.crt. A Python party (tno.mpc.communication 5.x; this\n\
         program is in docs/TLS.md, \"Mixed pools\"), here alice with bob as a peer:\n\
         \n\
         {python}\n\
         \n\
         With the mpc tool (pinning the peer's certificate is optional):\n\
         \n    \
             mpc echo --name alice --listen 0.0.0.0:8001 --peer bob=HOST:PORT \\\n    \
             \x20   --tls-key alice.key --tls-cert alice.crt --tls-ca ca.crt --peer-cert bob=bob.crt\n\
         \n\
         Inspect a certificate with: openssl x509 -in alice.crt -noout -text",
        python = indent(PYTHON_PARTY),
    );
    s
}

/// Generates and writes everything `args` asks for.
pub(crate) fn run(args: &CertsArgs) -> Result<ExitCode> {
    let parties = &args.parties.0;
    let now = now_utc()?;
    let bundle = generate_pki(parties, args.days, now).context("generating certificates")?;
    let files = out_files(&bundle, args.days);
    write_files(&args.out, &files, args.force)?;

    println!(
        "wrote a test PKI to {} (ECDSA P-256, valid {} to {} UTC):",
        args.out.display(),
        bundle.not_before.date(),
        bundle.not_after.date()
    );
    let width = files.iter().map(|f| f.name.len()).max().unwrap_or(0);
    println!(
        "  {:width$}  CA certificate, serial {}",
        "ca.crt", bundle.ca.serial
    );
    println!(
        "  {:width$}  CA private key (keep with the issuer only)",
        "ca.key"
    );
    for (name, issued) in &bundle.parties {
        println!(
            "  {:width$}  certificate for {name}, serial {}",
            format!("{name}.crt"),
            issued.serial
        );
        println!("  {:width$}  private key for {name}", format!("{name}.key"));
    }
    println!("  {:width$}  which files go to which party", "README.txt");
    Ok(ExitCode::SUCCESS)
}

fn now_utc() -> Result<OffsetDateTime> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("system clock is before 1970")?
        .as_secs();
    let secs = i64::try_from(secs).context("system clock out of range")?;
    OffsetDateTime::from_unix_timestamp(secs).context("system clock out of range")
}

fn write_files(dir: &Path, files: &[OutFile], force: bool) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    if !force {
        let existing: Vec<&str> = files
            .iter()
            .filter(|f| dir.join(&f.name).symlink_metadata().is_ok())
            .map(|f| f.name.as_str())
            .collect();
        ensure!(
            existing.is_empty(),
            "refusing to overwrite existing file(s) in {}: {} (use --force to replace them)",
            dir.display(),
            existing.join(", ")
        );
    }
    for file in files {
        let path = dir.join(&file.name);
        write_file(&path, file.contents.as_bytes(), file.secret, force)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn write_file(path: &Path, contents: &[u8], secret: bool, overwrite: bool) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        // Never clobber a file that appeared after the up-front check.
        options.create_new(true);
    }
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    // `mode` only applies to newly created files; tighten pre-existing ones
    // (with --force) before any key material is written.
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ```python block after `marker` in `markdown`.
    fn python_block<'a>(markdown: &'a str, marker: &str) -> &'a str {
        let at = markdown.find(marker).expect("the marker");
        let rest = &markdown[at..];
        let start = rest.find("```python\n").expect("a python block") + "```python\n".len();
        let len = rest[start..].find("```").expect("its end");
        &rest[start..start + len]
    }

    #[test]
    fn the_python_party_of_readme_txt_is_the_one_tls_md_shows() {
        let tls_md = include_str!("../../../docs/TLS.md");
        assert_eq!(
            python_block(
                tls_md,
                "<!-- interop: rust=bob (this block is crates/mpc-cli/src/python_party.py"
            ),
            PYTHON_PARTY,
            "docs/TLS.md (Mixed pools) and crates/mpc-cli/src/python_party.py differ"
        );
        assert!(PYTHON_PARTY.contains("await pool.initialize()"));
        assert!(PYTHON_PARTY.contains("check_hostname = False"));
    }

    #[test]
    fn readme_txt_carries_the_python_party_indented() {
        let bundle = generate_pki(
            &["alice".to_string(), "bob".to_string()],
            2,
            OffsetDateTime::now_utc(),
        )
        .unwrap();
        let text = readme(&bundle, 2);
        for line in PYTHON_PARTY.lines().filter(|l| !l.is_empty()) {
            assert!(
                text.contains(&format!("\n    {line}\n")),
                "{line:?} missing in\n{text}"
            );
        }
        assert!(!text.contains("server_hostname"), "{text}");
    }
}
