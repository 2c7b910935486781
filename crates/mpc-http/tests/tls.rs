//! Loading TLS settings through the public API: what is accepted and the
//! errors for what is not. Handshakes are tested inside the crate
//! (`src/tls/tests.rs`), where the per-transport setup is visible.

use std::path::{Path, PathBuf};

use mpc_http::{TlsConfig, TlsError};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tno-certs")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).expect("fixture")
}

/// The Python package's party_0: its key and certificate, and the CA
/// bundle, loaded from their files.
fn party_0_files() -> Result<TlsConfig, TlsError> {
    TlsConfig::from_pem_files(
        fixture("party_0.pem"),
        fixture("party_0.crt"),
        fixture("ca-combined.crt"),
    )
}

/// The same three files' contents: (key, certificate, CA bundle).
fn party_0_pem() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    (
        read("party_0.pem"),
        read("party_0.crt"),
        read("ca-combined.crt"),
    )
}

/// The error of pinning `pem` as party_1's certificate in party_0's
/// settings.
fn pinning_party_1(pem: &[u8]) -> TlsError {
    let (key, cert, ca) = party_0_pem();
    TlsConfig::from_pem(&key, &cert, &ca)
        .expect("config")
        .peer_certificate_pem("party_1", pem)
        .expect_err("not a certificate")
}

/// A scratch directory for hand-made files, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("mpc-http-tls-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Self(dir)
    }

    fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, content).expect("write");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn python_test_certificates_load_from_files() {
    let config = party_0_files()
        .expect("party_0 config")
        .peer_certificate_file("party_1", fixture("party_1.crt"))
        .expect("pin party_1");
    let debug = format!("{config:?}");
    assert!(debug.contains("CN=party_0 (ca-intermediate:2)"), "{debug}");
    assert!(debug.contains("party_1"), "{debug}");
}

#[test]
fn from_pem_matches_from_pem_files() {
    TlsConfig::from_pem(
        &read("party_1.pem"),
        &read("party_1.crt"),
        &read("ca-combined.crt"),
    )
    .expect("party_1 config")
    .peer_certificate_pem("party_0", &read("party_0.crt"))
    .expect("pin party_0");
}

#[test]
fn missing_file_names_the_path() {
    let missing = fixture("does-not-exist.pem");
    let err =
        TlsConfig::from_pem_files(&missing, fixture("party_0.crt"), fixture("ca-combined.crt"))
            .expect_err("missing key file");
    match &err {
        TlsError::Read { path, .. } => assert_eq!(path, &missing),
        other => panic!("expected Read, got {other:?}"),
    }
    assert!(err.to_string().contains("does-not-exist.pem"), "{err}");

    let err = party_0_files()
        .expect("config")
        .peer_certificate_file("party_1", &missing)
        .expect_err("missing peer certificate");
    assert!(matches!(err, TlsError::Read { .. }), "{err:?}");
}

#[test]
fn key_file_without_a_key() {
    // A certificate where the key should be.
    let err = TlsConfig::from_pem_files(
        fixture("party_0.crt"),
        fixture("party_0.crt"),
        fixture("ca-combined.crt"),
    )
    .expect_err("no key");
    match &err {
        TlsError::File { path, source } => {
            assert_eq!(path, &fixture("party_0.crt"));
            assert!(matches!(**source, TlsError::NoPrivateKey), "{source:?}");
        }
        other => panic!("expected File, got {other:?}"),
    }
    let err = TlsConfig::from_pem(b"", &read("party_0.crt"), &read("ca-combined.crt"))
        .expect_err("no key");
    assert!(matches!(err, TlsError::NoPrivateKey), "{err:?}");
}

#[test]
fn inputs_without_certificates() {
    let (key, cert, ca) = party_0_pem();
    let err = TlsConfig::from_pem(&key, &key, &ca).expect_err("no certificate");
    assert!(
        matches!(&err, TlsError::NoCertificate { what } if what == "certificate chain"),
        "{err:?}"
    );
    let err = TlsConfig::from_pem(&key, &cert, b"").expect_err("empty CA bundle");
    assert!(
        matches!(&err, TlsError::NoCertificate { what } if what == "CA bundle"),
        "{err:?}"
    );
    let err = pinning_party_1(&key);
    assert!(matches!(err, TlsError::NoCertificate { .. }), "{err:?}");
}

#[test]
fn malformed_pem_and_der() {
    let (key, cert, ca) = party_0_pem();

    let broken_base64 = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    let err = TlsConfig::from_pem(&key, broken_base64, &ca).expect_err("bad base64");
    assert!(matches!(err, TlsError::Pem { .. }), "{err:?}");

    let unterminated = b"-----BEGIN CERTIFICATE-----\nMIIB\n";
    let err = TlsConfig::from_pem(&key, &cert, unterminated).expect_err("no end marker");
    assert!(matches!(err, TlsError::Pem { .. }), "{err:?}");

    // Valid PEM around bytes that are no certificate.
    let not_der = b"-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
    for (what, err) in [
        (
            "as the certificate",
            TlsConfig::from_pem(&key, not_der, &ca).expect_err("not DER"),
        ),
        (
            "as the CA bundle",
            TlsConfig::from_pem(&key, &cert, not_der).expect_err("not DER"),
        ),
        ("as a pinned certificate", pinning_party_1(not_der)),
    ] {
        assert!(
            matches!(err, TlsError::InvalidCertificate { .. }),
            "{what}: {err:?}"
        );
    }

    let broken_key = b"-----BEGIN PRIVATE KEY-----\naGVsbG8gd29ybGQ=\n-----END PRIVATE KEY-----\n";
    let err = TlsConfig::from_pem(broken_key, &cert, &ca).expect_err("not a key");
    assert!(matches!(err, TlsError::Config(_)), "{err:?}");
}

#[test]
fn content_errors_in_files_name_the_file() {
    let scratch = Scratch::new("content");
    let empty = scratch.file("empty.crt", b"");
    let err = TlsConfig::from_pem_files(fixture("party_0.pem"), fixture("party_0.crt"), &empty)
        .expect_err("empty CA bundle");
    assert!(err.to_string().contains("empty.crt"), "{err}");
    assert!(
        matches!(&err, TlsError::File { source, .. } if matches!(**source, TlsError::NoCertificate { .. })),
        "{err:?}"
    );
}

#[test]
fn a_non_ca_certificate_in_the_ca_bundle_file_is_refused_by_name() {
    // A party's own (v3, non-CA) certificate appended to the bundle: the
    // loader names the file, the position, the subject and the serial.
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "carol");
    params.serial_number = Some(rcgen::SerialNumber::from(0x0102u64));
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    let carol = params.self_signed(&key).expect("certificate").pem();

    let scratch = Scratch::new("not-a-ca");
    let mut bundle = read("ca-combined.crt");
    bundle.extend_from_slice(carol.as_bytes());
    let bundle = scratch.file("bundle.crt", &bundle);
    let err = TlsConfig::from_pem_files(fixture("party_0.pem"), fixture("party_0.crt"), &bundle)
        .expect_err("carol's certificate is no CA");
    match &err {
        TlsError::NotACaCertificate {
            path,
            index,
            subject,
            serial,
            reason,
        } => {
            assert_eq!(path.as_deref(), Some(bundle.as_path()));
            assert_eq!(*index, 3);
            assert_eq!(subject, "CN=carol");
            assert_eq!(serial, "258");
            assert!(reason.contains("CA:FALSE"), "{reason}");
        }
        other => panic!("expected NotACaCertificate, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("{}: ", bundle.display())),
        "{text}"
    );
    assert!(
        text.contains("certificate #3 of the CA bundle (CN=carol, serial 258) is not a CA"),
        "{text}"
    );

    // The Python package's bundle itself (a root and an intermediate, both
    // CA:TRUE with keyCertSign) loads.
    party_0_files().expect("the Python bundle");
}

#[test]
fn key_and_certificate_must_match() {
    let err = TlsConfig::from_pem_files(
        fixture("party_0.pem"),
        fixture("party_1.crt"),
        fixture("ca-combined.crt"),
    )
    .expect_err("party_0's key with party_1's certificate");
    assert!(matches!(err, TlsError::KeyMismatch), "{err:?}");
}

#[test]
fn a_peer_certificate_configured_twice() {
    let err = party_0_files()
        .expect("config")
        .peer_certificate_file("party_1", fixture("party_1.crt"))
        .expect("first pin")
        .peer_certificate_file("party_1", fixture("party_1.crt"))
        .expect_err("second pin");
    assert!(
        matches!(&err, TlsError::DuplicatePeerCertificate { peer } if peer == "party_1"),
        "{err:?}"
    );
}

#[test]
fn debug_never_prints_the_key() {
    let key = read("party_0.pem");
    let config =
        TlsConfig::from_pem(&key, &read("party_0.crt"), &read("ca-combined.crt")).expect("config");
    let debug = format!("{config:?}");
    let key_text = String::from_utf8(key).expect("PEM is text");
    for line in key_text.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!debug.contains(line), "Debug output contains key material");
    }
    let clone = config.clone();
    assert_eq!(format!("{clone:?}"), debug);
}

#[test]
fn errors_are_send_sync_and_static() {
    fn assert_bounds<T: std::error::Error + Send + Sync + 'static>() {}
    assert_bounds::<TlsError>();
    fn assert_config<T: Send + Sync + Clone + std::fmt::Debug>() {}
    assert_config::<TlsConfig>();
}
