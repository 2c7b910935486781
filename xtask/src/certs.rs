//! `cargo xtask certs`: generate a throw-away test PKI for mutual TLS.
//!
//! One self-signed CA plus, for every party, an ECDSA P-256 leaf certificate
//! that is valid both as a TLS server and as a TLS client certificate, so the
//! same `NAME.crt`/`NAME.key` pair serves both directions of a party's links.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, ensure, Context, Result};
use mpc_http::certs::{generate as generate_pki, Bundle, OffsetDateTime, CA_COMMON_NAME};

pub(crate) const USAGE: &str = "\
usage: cargo xtask certs --parties NAME[,NAME...] --out DIR [--days N] [--force]

Generates a fresh test CA and one mutual-TLS certificate per party
(ECDSA P-256; serverAuth + clientAuth; SANs localhost, 127.0.0.1, ::1, NAME).

options:
  --parties LIST   comma-separated party names (letters, digits, '-', '_', '.';
                   must not start with '.' or '-'; `ca` is reserved)
  --out DIR        output directory (created if missing)
  --days N         validity in days from now (default 365, max 36500);
                   certificates are back-dated by one day for clock skew
  --force          overwrite existing files in DIR
  -h, --help       show this help

writes DIR/ca.crt, DIR/ca.key, DIR/NAME.crt, DIR/NAME.key and DIR/README.txt;
key files are PKCS#8 PEM with mode 0600 (on Unix).
";

const DEFAULT_DAYS: u32 = 365;
const MAX_DAYS: u32 = 36_500;
const MAX_NAME_LEN: usize = 63;

/// Parsed `certs` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Args {
    pub(crate) parties: Vec<String>,
    pub(crate) out: PathBuf,
    pub(crate) days: u32,
    pub(crate) force: bool,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Invocation {
    Help,
    Run(Args),
}

/// Entry point for `cargo xtask certs ...` (`args` excludes the `certs` word).
pub(crate) fn main(args: impl IntoIterator<Item = String>) -> Result<()> {
    match parse_args(args)? {
        Invocation::Help => {
            print!("{USAGE}");
            Ok(())
        }
        Invocation::Run(args) => run(&args),
    }
}

pub(crate) fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Invocation> {
    let mut parties: Option<Vec<String>> = None;
    let mut out: Option<PathBuf> = None;
    let mut days: Option<u32> = None;
    let mut force = false;

    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value)),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| -> Result<String> {
            match inline {
                Some(v) => Ok(v.to_owned()),
                None => match args.next() {
                    Some(v) if !v.starts_with("--") => Ok(v),
                    _ => bail!("{flag} needs a value ({what})\n\n{USAGE}"),
                },
            }
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Invocation::Help),
            "--parties" => {
                let list = value("a comma-separated list of party names")?;
                ensure!(parties.is_none(), "--parties given more than once");
                parties = Some(parse_parties(&list)?);
            }
            "--out" => {
                let dir = value("an output directory")?;
                ensure!(out.is_none(), "--out given more than once");
                ensure!(!dir.is_empty(), "--out needs a non-empty directory");
                out = Some(PathBuf::from(dir));
            }
            "--days" => {
                let n = value("a number of days")?;
                ensure!(days.is_none(), "--days given more than once");
                let n: u32 = n
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_DAYS).contains(n))
                    .with_context(|| {
                        format!("--days must be a whole number from 1 to {MAX_DAYS}, got {n:?}")
                    })?;
                days = Some(n);
            }
            "--force" => {
                ensure!(inline.is_none(), "--force takes no value");
                force = true;
            }
            _ if flag.starts_with('-') => bail!("unknown option {flag:?}\n\n{USAGE}"),
            _ => bail!("unexpected argument {arg:?}\n\n{USAGE}"),
        }
    }

    let Some(parties) = parties else {
        bail!("missing required --parties\n\n{USAGE}");
    };
    let Some(out) = out else {
        bail!("missing required --out\n\n{USAGE}");
    };
    Ok(Invocation::Run(Args {
        parties,
        out,
        days: days.unwrap_or(DEFAULT_DAYS),
        force,
    }))
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
        "mpc-pool TEST certificates -- generated by `cargo xtask certs`.\n\
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
         verifies peers against ca.crt. In Python:\n\
         \n    \
             ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)  # server side\n    \
             # (client side: ssl.Purpose.SERVER_AUTH, server_hostname=\"localhost\")\n    \
             ctx.load_cert_chain(\"alice.crt\", \"alice.key\")\n    \
             ctx.load_verify_locations(\"ca.crt\")\n    \
             ctx.verify_mode = ssl.CERT_REQUIRED\n\
         \n\
         Inspect a certificate with: openssl x509 -in alice.crt -noout -text"
    );
    s
}

/// Generates and writes everything for `args`.
pub(crate) fn run(args: &Args) -> Result<()> {
    let now = now_utc()?;
    let bundle = generate(&args.parties, args.days, now)?;
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
    Ok(())
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

/// [`mpc_http::certs::generate`], with the error as `anyhow`.
fn generate(parties: &[String], days: u32, now: OffsetDateTime) -> Result<Bundle> {
    generate_pki(parties, days, now).context("generating certificates")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256};
    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
    use webpki::{EndEntityCert, KeyUsage};

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn run_args(list: &[&str]) -> Args {
        match parse_args(args(list)).unwrap() {
            Invocation::Run(a) => a,
            Invocation::Help => panic!("unexpected help"),
        }
    }

    fn err(list: &[&str]) -> String {
        format!("{:#}", parse_args(args(list)).unwrap_err())
    }

    #[test]
    fn parses_arguments() {
        let a = run_args(&["--parties", "alice,bob,carol", "--out", "d"]);
        assert_eq!(a.parties, ["alice", "bob", "carol"]);
        assert_eq!(a.out, PathBuf::from("d"));
        assert_eq!(a.days, DEFAULT_DAYS);
        assert!(!a.force);

        let a = run_args(&[
            "--force",
            "--days=30",
            "--out=x/y",
            "--parties=p-1, p_2 ,p.3",
        ]);
        assert_eq!(a.parties, ["p-1", "p_2", "p.3"]);
        assert_eq!(a.out, PathBuf::from("x/y"));
        assert_eq!(a.days, 30);
        assert!(a.force);

        assert_eq!(parse_args(args(&["--help"])).unwrap(), Invocation::Help);
    }

    #[test]
    fn rejects_bad_arguments() {
        assert!(err(&["--parties", "a", "--out", "d", "--bogus"]).contains("unknown option"));
        assert!(err(&["--parties", "a", "--out"]).contains("--out needs a value"));
        assert!(err(&["--parties", "--out", "d"]).contains("--parties needs a value"));
        assert!(err(&["--out", "d"]).contains("missing required --parties"));
        assert!(err(&["--parties", "a"]).contains("missing required --out"));
        assert!(err(&["--parties", "a", "--out", "d", "stray"]).contains("unexpected argument"));
        assert!(err(&["--parties", "a", "--parties", "b", "--out", "d"]).contains("more than once"));
        for days in ["0", "-1", "x", "36501"] {
            assert!(err(&["--parties", "a", "--out", "d", "--days", days]).contains("--days"));
        }
        assert!(err(&["--parties", "a", "--out", "d", "--force=yes"]).contains("no value"));
    }

    #[test]
    fn validates_party_names() {
        for bad in [
            "",
            "alice,",
            "alice,,bob",
            "a/b",
            "../x",
            "..",
            ".hidden",
            "-rf",
            "a b",
            "ca",
            "CA",
            "é",
            "alice,bob,alice",
            "Alice,alice",
        ] {
            assert!(parse_parties(bad).is_err(), "{bad:?} should be rejected");
        }
        let long = "x".repeat(MAX_NAME_LEN + 1);
        assert!(parse_parties(&long).is_err());
        assert_eq!(parse_parties("alice").unwrap(), ["alice"]);
        assert!(parse_parties("node-1.example,Node_2,3").is_ok());
    }

    #[test]
    fn party_certs_chain_to_ca_with_both_ekus_and_sans() {
        let parties = args(&["alice", "bob"]);
        let now = now_utc().unwrap();
        let bundle = generate(&parties, 10, now).unwrap();

        let ca_der = pem_der(&bundle.ca.cert_pem, "CERTIFICATE");
        let anchor = webpki::anchor_from_trusted_cert(&ca_der).unwrap();
        let anchors = [anchor];
        let at =
            UnixTime::since_unix_epoch(std::time::Duration::from_secs(now.unix_timestamp() as u64));
        let later = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            (now + time::Duration::days(11)).unix_timestamp() as u64,
        ));
        let algs = [webpki::ring::ECDSA_P256_SHA256];

        let mut serials = HashSet::from([bundle.ca.serial.to_bytes()]);
        for (name, issued) in &bundle.parties {
            assert!(serials.insert(issued.serial.to_bytes()), "serials unique");
            assert!(issued.serial.as_ref()[0] & 0x80 == 0, "serial positive");

            // Key is PKCS#8 PEM, P-256, and belongs to the certificate.
            assert!(issued.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
            let key = KeyPair::from_pem(&issued.key_pem).unwrap();
            assert_eq!(key.algorithm(), &PKCS_ECDSA_P256_SHA256);
            let der = pem_der(&issued.cert_pem, "CERTIFICATE");
            assert!(contains(&der, key.public_key_raw()));

            let ee = EndEntityCert::try_from(&der).unwrap();
            for usage in [KeyUsage::server_auth(), KeyUsage::client_auth()] {
                ee.verify_for_usage(&algs, &anchors, &[], at, usage, None, None)
                    .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            }
            let expired = ee.verify_for_usage(
                &algs,
                &anchors,
                &[],
                later,
                KeyUsage::server_auth(),
                None,
                None,
            );
            assert!(expired.is_err(), "{name} must expire after --days");

            for ok in ["localhost", "127.0.0.1", "::1", name.as_str()] {
                let sn = ServerName::try_from(ok).unwrap();
                ee.verify_is_valid_for_subject_name(&sn)
                    .unwrap_or_else(|e| panic!("{name} not valid for {ok}: {e:?}"));
            }
            let other = if name == "alice" { "bob" } else { "alice" };
            let sn = ServerName::try_from(other).unwrap();
            assert!(ee.verify_is_valid_for_subject_name(&sn).is_err());
            assert!(contains(&der, name.as_bytes()), "CN present");
        }

        // The CA key must not be usable as an end-entity certificate.
        let ca_ee = EndEntityCert::try_from(&ca_der).unwrap();
        assert!(ca_ee
            .verify_for_usage(
                &algs,
                &anchors,
                &[],
                at,
                KeyUsage::server_auth(),
                None,
                None
            )
            .is_err());
    }

    #[test]
    fn writes_files_and_refuses_to_overwrite() {
        let dir = std::env::temp_dir().join(format!(
            "xtask-certs-test-{}-{}",
            std::process::id(),
            now_utc().unwrap().unix_timestamp_nanos()
        ));
        let a = Args {
            parties: args(&["alice", "bob"]),
            out: dir.join("nested"),
            days: 5,
            force: false,
        };
        run(&a).unwrap();
        let mut names: Vec<String> = fs::read_dir(&a.out)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "README.txt",
                "alice.crt",
                "alice.key",
                "bob.crt",
                "bob.key",
                "ca.crt",
                "ca.key"
            ]
        );
        let readme = fs::read_to_string(a.out.join("README.txt")).unwrap();
        assert!(readme.contains("alice: alice.crt, alice.key, ca.crt"));
        let before = fs::read(a.out.join("alice.key")).unwrap();

        let e = format!("{:#}", run(&a).unwrap_err());
        assert!(
            e.contains("refusing to overwrite") && e.contains("ca.key"),
            "{e}"
        );
        assert_eq!(fs::read(a.out.join("alice.key")).unwrap(), before);

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |f: &str| fs::metadata(a.out.join(f)).unwrap().permissions().mode() & 0o777;
            fs::set_permissions(a.out.join("bob.key"), fs::Permissions::from_mode(0o644)).unwrap();
            run(&Args {
                force: true,
                ..a.clone()
            })
            .unwrap();
            for key in ["ca.key", "alice.key", "bob.key"] {
                assert_eq!(mode(key), 0o600, "{key}");
            }
        }
        #[cfg(not(unix))]
        run(&Args {
            force: true,
            ..a.clone()
        })
        .unwrap();
        assert_ne!(fs::read(a.out.join("alice.key")).unwrap(), before);

        fs::remove_dir_all(&dir).unwrap();
    }

    /// Decodes the single PEM block of type `label` (tiny base64 decoder; tests only).
    fn pem_der(pem: &str, label: &str) -> CertificateDer<'static> {
        let begin = format!("-----BEGIN {label}-----");
        let end = format!("-----END {label}-----");
        let body = pem
            .trim()
            .strip_prefix(&begin)
            .and_then(|s| s.strip_suffix(&end))
            .unwrap_or_else(|| panic!("not a single {label} PEM block"));
        let mut out = Vec::new();
        let (mut acc, mut bits) = (0u32, 0);
        for c in body
            .bytes()
            .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => panic!("bad base64 byte {c}"),
            };
            acc = (acc << 6) | u32::from(v);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        CertificateDer::from(out)
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }
}
