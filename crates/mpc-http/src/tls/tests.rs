//! Handshakes in memory (rustls connections pumping bytes to each other) and
//! parser robustness.

use std::io::{Read, Write};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData, SerialNumber,
};
use rustls::{CertificateError, ClientConnection, Connection, ServerConnection};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::policy::{PeerVerifier, Presenter};
use super::verify::{ClientAuth, ServerAuth};
use super::x509::Certificate;
use super::*;

// ---------------------------------------------------------------------------
// Fixtures: the Python package's test certificates.

mod tno {
    pub(super) const CA_COMBINED: &[u8] =
        include_bytes!("../../tests/fixtures/tno-certs/ca-combined.crt");
    pub(super) const CA_UNTRUSTED: &[u8] =
        include_bytes!("../../tests/fixtures/tno-certs/ca-untrusted.crt");
    pub(super) const PARTY_0_CRT: &[u8] =
        include_bytes!("../../tests/fixtures/tno-certs/party_0.crt");
    pub(super) const PARTY_0_KEY: &[u8] =
        include_bytes!("../../tests/fixtures/tno-certs/party_0.pem");
    pub(super) const PARTY_1_CRT: &[u8] =
        include_bytes!("../../tests/fixtures/tno-certs/party_1.crt");
    pub(super) const PARTY_1_KEY: &[u8] =
        include_bytes!("../../tests/fixtures/tno-certs/party_1.pem");
    pub(super) const UNTRUSTED_CRT: &[u8] =
        include_bytes!("../../tests/fixtures/tno-certs/party_untrusted.crt");
    pub(super) const UNTRUSTED_KEY: &[u8] =
        include_bytes!("../../tests/fixtures/tno-certs/party_untrusted.pem");
}

fn der_of(pem: &[u8]) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem).expect("PEM certificate")
}

fn peers(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

// ---------------------------------------------------------------------------
// rcgen-made certificates.

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
    der: CertificateDer<'static>,
}

fn dn(cn: &str) -> rcgen::DistinguishedName {
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

fn make_ca(name: &str) -> Ca {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).expect("CA certificate");
    Ca {
        pem: cert.pem(),
        der: cert.der().clone(),
        issuer: Issuer::new(params, key),
    }
}

#[derive(Clone)]
struct Party {
    key_pem: String,
    cert_pem: String,
    der: CertificateDer<'static>,
}

impl Party {
    fn config(&self, ca_pem: &str) -> TlsConfig {
        TlsConfig::from_pem(
            self.key_pem.as_bytes(),
            self.cert_pem.as_bytes(),
            ca_pem.as_bytes(),
        )
        .expect("config")
    }
}

#[derive(Clone, Copy)]
struct PartyOptions {
    eku: bool,
    expired: bool,
    serial: Option<u64>,
}

const V3: PartyOptions = PartyOptions {
    eku: true,
    expired: false,
    serial: None,
};

fn make_party(ca: &Ca, cn: &str, options: PartyOptions) -> Party {
    make_party_by(&ca.issuer, cn, options)
}

/// A party certificate signed by whatever `issuer` holds (a CA, or not).
fn make_party_by(issuer: &Issuer<'_, KeyPair>, cn: &str, options: PartyOptions) -> Party {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("params");
    params.distinguished_name = dn(cn);
    if options.eku {
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
    }
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    if options.expired {
        params.not_before = rcgen::date_time_ymd(2000, 1, 1);
        params.not_after = rcgen::date_time_ymd(2001, 1, 1);
    } else {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2100, 1, 1);
    }
    params.serial_number = options.serial.map(SerialNumber::from);
    let cert = params.signed_by(&key, issuer).expect("party certificate");
    Party {
        key_pem: key.serialize_pem(),
        cert_pem: cert.pem(),
        der: cert.der().clone(),
    }
}

// A tiny DER writer to build X.509 v1 certificates (rcgen only makes v3).
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend([0x81, len as u8]);
    } else {
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

fn name(cn: &str) -> Vec<u8> {
    let atv = [tlv(0x06, &[0x55, 0x04, 0x03]), tlv(0x0c, cn.as_bytes())].concat();
    tlv(0x30, &tlv(0x31, &tlv(0x30, &atv)))
}

const ECDSA_SHA256_ALG: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
];

/// An X.509 **version 1** certificate (no version field, no extensions),
/// ECDSA P-256 / SHA-256, signed by `signer` with issuer name `issuer_cn`.
fn make_v1(
    signer: &KeyPair,
    issuer_cn: &str,
    subject_cn: &str,
    serial: u8,
    validity: (&str, &str),
) -> Party {
    make_v1_with_key(
        signer,
        issuer_cn,
        &KeyPair::generate().expect("key"),
        subject_cn,
        serial,
        validity,
    )
}

/// [`make_v1`] for a given subject key (the signer's, for a self-signed CA).
fn make_v1_with_key(
    signer: &KeyPair,
    issuer_cn: &str,
    key: &KeyPair,
    subject_cn: &str,
    serial: u8,
    validity: (&str, &str),
) -> Party {
    let tbs = tlv(
        0x30,
        &[
            tlv(0x02, &[serial]),
            ECDSA_SHA256_ALG.to_vec(),
            name(issuer_cn),
            tlv(
                0x30,
                &[
                    tlv(0x17, validity.0.as_bytes()),
                    tlv(0x17, validity.1.as_bytes()),
                ]
                .concat(),
            ),
            name(subject_cn),
            key.subject_public_key_info(),
        ]
        .concat(),
    );
    let signature = rcgen::SigningKey::sign(signer, &tbs).expect("sign");
    let der = tlv(
        0x30,
        &[
            tbs,
            ECDSA_SHA256_ALG.to_vec(),
            tlv(0x03, &[&[0u8][..], &signature].concat()),
        ]
        .concat(),
    );
    let der = CertificateDer::from(der);
    let cert_pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        base64(der.as_ref())
    );
    Party {
        key_pem: key.serialize_pem(),
        cert_pem,
        der,
    }
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// In-memory handshakes.

struct Run {
    client: Connection,
    server: Connection,
    client_err: Option<rustls::Error>,
    server_err: Option<rustls::Error>,
    exchanged: bool,
}

/// Moves pending TLS bytes from `from` to `to`; false if there were none.
fn step(from: &mut Connection, to: &mut Connection, to_err: &mut Option<rustls::Error>) -> bool {
    let mut buf = Vec::new();
    while from.wants_write() {
        match from.write_tls(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    if buf.is_empty() {
        return false;
    }
    if to_err.is_some() {
        return true;
    }
    let mut rd: &[u8] = &buf;
    while !rd.is_empty() {
        match to.read_tls(&mut rd) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if let Err(e) = to.process_new_packets() {
            *to_err = Some(e);
            break;
        }
    }
    true
}

fn pump(run: &mut Run) {
    for _ in 0..64 {
        let a = step(&mut run.client, &mut run.server, &mut run.server_err);
        let b = step(&mut run.server, &mut run.client, &mut run.client_err);
        if !a && !b {
            break;
        }
    }
}

fn read_all(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        match conn.reader().read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

fn connect(server: Arc<rustls::ServerConfig>, client: Arc<rustls::ClientConfig>) -> Run {
    let client = ClientConnection::new(client, ServerName::try_from("localhost").expect("name"))
        .expect("client connection");
    let server = ServerConnection::new(server).expect("server connection");
    let mut run = Run {
        client: client.into(),
        server: server.into(),
        client_err: None,
        server_err: None,
        exchanged: false,
    };
    pump(&mut run);
    // Application data both ways: in TLS 1.3 the client finishes its side of
    // the handshake before the server has checked the client certificate.
    if run.client_err.is_none() && run.server_err.is_none() {
        let _ = run.client.writer().write_all(b"ping");
        pump(&mut run);
        let got_ping = read_all(&mut run.server) == b"ping";
        let _ = run.server.writer().write_all(b"pong");
        pump(&mut run);
        let got_pong = read_all(&mut run.client) == b"pong";
        run.exchanged = got_ping && got_pong;
    }
    run
}

impl Run {
    fn assert_ok(&self) {
        assert!(
            self.client_err.is_none() && self.server_err.is_none() && self.exchanged,
            "handshake should succeed; client: {:?}, server: {:?}",
            self.client_err,
            self.server_err
        );
        assert!(!self.client.is_handshaking() && !self.server.is_handshaking());
        assert_eq!(
            self.client.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_3)
        );
        assert_eq!(self.client.alpn_protocol(), Some(&b"http/1.1"[..]));
        assert_eq!(self.server.alpn_protocol(), Some(&b"http/1.1"[..]));
    }

    /// The server refused the client's certificate; returns the server's error.
    fn refused_by_server(self) -> rustls::Error {
        assert!(!self.exchanged, "handshake should fail");
        let err = self.server_err.expect("server should refuse");
        eprintln!("server refused: {err}\n  client saw: {:?}", self.client_err);
        assert!(
            !matches!(err, rustls::Error::AlertReceived(_)),
            "the server itself should refuse, got {err:?}"
        );
        assert!(
            self.client_err.is_some(),
            "the client should learn of the refusal"
        );
        err
    }

    /// The client refused the server's certificate; returns the client's error.
    fn refused_by_client(self) -> rustls::Error {
        assert!(!self.exchanged, "handshake should fail");
        let err = self.client_err.expect("client should refuse");
        eprintln!("client refused: {err}\n  server saw: {:?}", self.server_err);
        assert!(
            !matches!(err, rustls::Error::AlertReceived(_)),
            "the client itself should refuse, got {err:?}"
        );
        assert!(
            self.server_err.is_some(),
            "the server should learn of the refusal"
        );
        err
    }

    fn server_saw(&self) -> CertificateDer<'static> {
        self.server.peer_certificates().expect("client certificate")[0].clone()
    }

    fn client_saw(&self) -> CertificateDer<'static> {
        self.client.peer_certificates().expect("server certificate")[0].clone()
    }
}

/// `client` connects to `server`, which it knows as `server_name`.
fn handshake(server: &TlsSetup, client: &TlsSetup, server_name: &str) -> Run {
    connect(
        server.server_config(),
        client.client_config(server_name).expect("known peer"),
    )
}

fn setup(config: &TlsConfig, names: &[&str]) -> TlsSetup {
    TlsSetup::new(config, &peers(names)).expect("setup")
}

fn message(err: &rustls::Error) -> String {
    err.to_string()
}

fn is_cert_error(err: &rustls::Error, expected: &CertificateError) -> bool {
    match (err, expected) {
        (rustls::Error::InvalidCertificate(got), _) => {
            std::mem::discriminant(got) == std::mem::discriminant(expected)
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// 1. rcgen-made v3 certificates.

#[test]
fn rcgen_parties_by_common_name() {
    let ca = make_ca("Test CA");
    let alice = make_party(&ca, "alice", V3);
    let bob = make_party(&ca, "bob", V3);
    let a = setup(&alice.config(&ca.pem), &["bob"]);
    let b = setup(&bob.config(&ca.pem), &["alice"]);

    let run = handshake(&b, &a, "bob");
    run.assert_ok();
    assert_eq!(b.identify(&run.server_saw()).as_deref(), Some("alice"));
    assert_eq!(a.identify(&run.client_saw()).as_deref(), Some("bob"));

    let run = handshake(&a, &b, "alice");
    run.assert_ok();
    assert_eq!(a.identify(&run.server_saw()).as_deref(), Some("bob"));
}

#[test]
fn resumed_sessions_keep_the_client_identity() {
    let ca = make_ca("Test CA");
    let alice = make_party(&ca, "alice", V3);
    let bob = make_party(&ca, "bob", V3);
    let a = setup(&alice.config(&ca.pem), &["bob"]);
    let b = setup(&bob.config(&ca.pem), &["alice"]);
    let first = handshake(&b, &a, "bob");
    first.assert_ok();
    assert_eq!(
        first.client.handshake_kind(),
        Some(rustls::HandshakeKind::Full)
    );
    // Same client and server configurations: the session is resumed, and the
    // server still knows the client certificate of the original handshake.
    let second = handshake(&b, &a, "bob");
    second.assert_ok();
    assert_eq!(
        second.client.handshake_kind(),
        Some(rustls::HandshakeKind::Resumed)
    );
    assert_eq!(b.identify(&second.server_saw()).as_deref(), Some("alice"));
}

#[test]
fn rcgen_parties_by_pinned_certificate() {
    let ca = make_ca("Test CA");
    let alice = make_party(&ca, "alice", V3);
    let bob = make_party(&ca, "bob", V3);
    // The pinned names need not be the CNs: pinning decides.
    let a_config = alice
        .config(&ca.pem)
        .peer_certificate_pem("party-b", bob.cert_pem.as_bytes())
        .expect("pin");
    let b_config = bob
        .config(&ca.pem)
        .peer_certificate_pem("party-a", alice.cert_pem.as_bytes())
        .expect("pin");
    let a = setup(&a_config, &["party-b"]);
    let b = setup(&b_config, &["party-a"]);

    let run = handshake(&b, &a, "party-b");
    run.assert_ok();
    assert_eq!(b.identify(&run.server_saw()).as_deref(), Some("party-a"));
    assert_eq!(a.identify(&run.client_saw()).as_deref(), Some("party-b"));
    // With a pin, the CN is no identity.
    assert_eq!(b.identify(&bob.der), None);

    let run = handshake(&a, &b, "party-a");
    run.assert_ok();
    assert_eq!(a.identify(&run.server_saw()).as_deref(), Some("party-b"));
}

#[test]
fn rcgen_leaf_without_eku_is_accepted() {
    let ca = make_ca("Test CA");
    let no_eku = PartyOptions { eku: false, ..V3 };
    let alice = make_party(&ca, "alice", no_eku);
    let bob = make_party(&ca, "bob", no_eku);
    let a = setup(&alice.config(&ca.pem), &["bob"]);
    let b = setup(&bob.config(&ca.pem), &["alice"]);
    handshake(&b, &a, "bob").assert_ok();
    handshake(&a, &b, "alice").assert_ok();
}

#[test]
fn python_identity_is_issuer_cn_and_decimal_serial() {
    let ca = make_ca("Test CA");
    let alice = make_party(
        &ca,
        "alice",
        PartyOptions {
            serial: Some(0x0102_0304_0506),
            ..V3
        },
    );
    assert_eq!(
        python_identity(alice.der.as_ref()).as_deref(),
        Some("Test CA:1108152157446")
    );
    assert_eq!(
        python_identity(&der_of(tno::PARTY_0_CRT)).as_deref(),
        Some("ca-intermediate:2")
    );
    assert_eq!(
        python_identity(&der_of(tno::PARTY_1_CRT)).as_deref(),
        Some("ca-intermediate:3")
    );
    // The untrusted set claims the same identity as party_0: the Python
    // identity alone is not proof; the chain check is.
    assert_eq!(
        python_identity(&der_of(tno::UNTRUSTED_CRT)).as_deref(),
        Some("ca-intermediate:2")
    );
    assert_eq!(python_identity(b"not a certificate"), None);
}

// ---------------------------------------------------------------------------
// 2. The Python package's certificates (X.509 v1, RSA, intermediate CA).

fn tno_config(key: &[u8], cert: &[u8]) -> TlsConfig {
    TlsConfig::from_pem(key, cert, tno::CA_COMBINED).expect("config")
}

#[test]
fn webpki_reports_unsupported_version_for_v1() {
    let party_0 = der_of(tno::PARTY_0_CRT);
    let err = webpki::EndEntityCert::try_from(&party_0).err();
    assert_eq!(err, Some(webpki::Error::UnsupportedCertVersion));
    let parsed = Certificate::parse(party_0.as_ref()).expect("parse");
    assert_eq!(parsed.version_number(), 1);
    assert_eq!(parsed.subject_common_name().as_deref(), Some("party_0"));
}

#[test]
fn tno_certificates_pinned_handshake_both_ways() {
    let p0 = tno_config(tno::PARTY_0_KEY, tno::PARTY_0_CRT)
        .peer_certificate_pem("party_1", tno::PARTY_1_CRT)
        .expect("pin");
    let p1 = tno_config(tno::PARTY_1_KEY, tno::PARTY_1_CRT)
        .peer_certificate_pem("party_0", tno::PARTY_0_CRT)
        .expect("pin");
    let s0 = setup(&p0, &["party_1"]);
    let s1 = setup(&p1, &["party_0"]);

    let run = handshake(&s1, &s0, "party_1");
    run.assert_ok();
    assert_eq!(s1.identify(&run.server_saw()).as_deref(), Some("party_0"));
    assert_eq!(s0.identify(&run.client_saw()).as_deref(), Some("party_1"));

    let run = handshake(&s0, &s1, "party_0");
    run.assert_ok();
    assert_eq!(s0.identify(&run.server_saw()).as_deref(), Some("party_1"));
}

// ---------------------------------------------------------------------------
// Legacy path with hand-made v1 certificates (ECDSA), for what the fixed
// Python set cannot show.

fn v1_world(validity: (&str, &str)) -> (Ca, Party, Party) {
    let ca_key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::default();
    params.distinguished_name = dn("v1 CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&ca_key).expect("CA");
    let alice = make_v1(&ca_key, "v1 CA", "alice", 2, validity);
    let bob = make_v1(
        &ca_key,
        "v1 CA",
        "bob",
        3,
        ("200101000000Z", "491231235959Z"),
    );
    let ca = Ca {
        pem: cert.pem(),
        der: cert.der().clone(),
        issuer: Issuer::new(params, ca_key),
    };
    (ca, alice, bob)
}

fn pinned_pair(ca: &Ca, alice: &Party, bob: &Party) -> (TlsSetup, TlsSetup) {
    let a = alice
        .config(&ca.pem)
        .peer_certificate_pem("bob", bob.cert_pem.as_bytes())
        .expect("pin");
    let b = bob
        .config(&ca.pem)
        .peer_certificate_pem("alice", alice.cert_pem.as_bytes())
        .expect("pin");
    (setup(&a, &["bob"]), setup(&b, &["alice"]))
}

#[test]
fn legacy_path_ecdsa_v1_pinned() {
    let (ca, alice, bob) = v1_world(("200101000000Z", "491231235959Z"));
    assert_eq!(
        Certificate::parse(alice.der.as_ref())
            .unwrap()
            .version_number(),
        1
    );
    let (a, b) = pinned_pair(&ca, &alice, &bob);
    let run = handshake(&b, &a, "bob");
    run.assert_ok();
    assert_eq!(b.identify(&run.server_saw()).as_deref(), Some("alice"));
}

/// How a handshake must fail: which side refuses, and what its error is.
#[derive(Debug)]
enum Refusal {
    /// The server refuses; its error message contains this.
    Server(&'static str),
    /// The client refuses; its error message contains this.
    Client(&'static str),
    /// The server refuses with this kind of certificate error (the times in
    /// it do not matter).
    ServerCert(CertificateError),
}

impl Refusal {
    fn check(&self, case: &str, run: Run) {
        let (err, ok) = match self {
            Refusal::Server(text) => {
                let err = run.refused_by_server();
                let ok = message(&err).contains(text);
                (err, ok)
            }
            Refusal::Client(text) => {
                let err = run.refused_by_client();
                let ok = message(&err).contains(text);
                (err, ok)
            }
            Refusal::ServerCert(kind) => {
                let err = run.refused_by_server();
                let ok = is_cert_error(&err, kind);
                (err, ok)
            }
        };
        assert!(ok, "{case}: expected {self:?}, got {err:?}");
    }
}

/// A party of the Python package's test set: its key, certificate and CA
/// bundle, the certificates it pins, and its peers.
fn tno_setup(
    key: &[u8],
    cert: &[u8],
    ca: &[u8],
    pins: &[(&str, &[u8])],
    peers: &[&str],
) -> TlsSetup {
    let mut config = TlsConfig::from_pem(key, cert, ca).expect("config");
    for (peer, pem) in pins {
        config = config.peer_certificate_pem(*peer, pem).expect("pin");
    }
    setup(&config, peers)
}

#[test]
fn legacy_certificates_are_refused_unless_pinned_valid_and_signed() {
    use tno::*;
    const VALID: (&str, &str) = ("200101000000Z", "491231235959Z");
    let any_time = UnixTime::since_unix_epoch(std::time::Duration::ZERO);
    let p0 = |pins: &[(&str, &[u8])]| {
        tno_setup(PARTY_0_KEY, PARTY_0_CRT, CA_COMBINED, pins, &["party_1"])
    };
    let p1 = |pins: &[(&str, &[u8])]| {
        tno_setup(PARTY_1_KEY, PARTY_1_CRT, CA_COMBINED, pins, &["party_0"])
    };
    // party_untrusted: CN party_0, issuer name "ca-intermediate" (same as the
    // trusted intermediate), serial 2 (same Python identity as party_0), but
    // signed by another intermediate under another root.
    let untrusted = |ca: &[u8]| {
        tno_setup(
            UNTRUSTED_KEY,
            UNTRUSTED_CRT,
            ca,
            &[("party_1", PARTY_1_CRT)],
            &["party_1"],
        )
    };
    // Hand-made v1 certificates (ECDSA) for what the Python set cannot show.
    // `pinned_pair` gives (alice, bob); alice connects to bob.
    let v1_pair = |alice_validity| {
        let (ca, alice, bob) = v1_world(alice_validity);
        pinned_pair(&ca, &alice, &bob)
    };
    let v1_stranger = |issuer_cn: &str| {
        // Even pinned (a misconfiguration), the chain check refuses it.
        let (ca, _alice, bob) = v1_world(VALID);
        let key = KeyPair::generate().expect("key");
        pinned_pair(&ca, &make_v1(&key, issuer_cn, "alice", 2, VALID), &bob)
    };

    // (case, server, client, the name the client knows the server by, refusal)
    let cases: Vec<(&str, TlsSetup, TlsSetup, &str, Refusal)> = vec![
        (
            "a v1 server certificate is not accepted on its CN alone",
            p1(&[("party_0", PARTY_0_CRT)]),
            p0(&[]),
            "party_1",
            Refusal::Client("X.509 v1"),
        ),
        (
            "a v1 client certificate is not accepted on its CN alone",
            p1(&[]),
            p0(&[("party_1", PARTY_1_CRT)]),
            "party_1",
            Refusal::Server("X.509 v1"),
        ),
        {
            let (alice, bob) = v1_pair(("000101000000Z", "010101000000Z"));
            let expired = CertificateError::ExpiredContext {
                time: any_time,
                not_after: any_time,
            };
            (
                "an expired v1 client",
                bob,
                alice,
                "bob",
                Refusal::ServerCert(expired),
            )
        },
        {
            let (alice, bob) = v1_pair(("490101000000Z", "491231235959Z"));
            let not_yet = CertificateError::NotValidYetContext {
                time: any_time,
                not_before: any_time,
            };
            (
                "a v1 client not valid yet",
                bob,
                alice,
                "bob",
                Refusal::ServerCert(not_yet),
            )
        },
        {
            let (alice, bob) = v1_stranger("v1 CA");
            let refusal = Refusal::Server("not signed by the configured CA");
            (
                "a v1 client signed by another key with the CA's name",
                bob,
                alice,
                "bob",
                refusal,
            )
        },
        {
            let (alice, bob) = v1_stranger("Other CA");
            let refusal = Refusal::Server("no certificate in the configured CA bundle has");
            (
                "a v1 client of an unknown issuer",
                bob,
                alice,
                "bob",
                refusal,
            )
        },
        (
            "the untrusted set's client",
            p1(&[("party_0", PARTY_0_CRT)]),
            untrusted(CA_COMBINED),
            "party_1",
            Refusal::Server("not signed by the configured CA"),
        ),
        (
            // Pinning the untrusted certificate itself does not make it
            // trusted: the legacy path's signature check refuses it.
            "the untrusted set's client, pinned",
            p1(&[("party_0", UNTRUSTED_CRT)]),
            untrusted(CA_COMBINED),
            "party_1",
            Refusal::Server("not signed by the configured CA"),
        ),
        (
            "a party that trusts only the untrusted root, as the client",
            p1(&[("party_0", UNTRUSTED_CRT)]),
            untrusted(CA_UNTRUSTED),
            "party_1",
            Refusal::Client("not signed by the configured CA"),
        ),
    ];
    for (case, server, client, server_name, refusal) in cases {
        refusal.check(case, handshake(&server, &client, server_name));
    }
    assert_eq!(p0(&[]).identify(&der_of(PARTY_1_CRT)), None);
}

// ---------------------------------------------------------------------------
// 3. Failures.

#[test]
fn v3_certificates_are_refused_for_the_right_reason() {
    let ca = make_ca("Test CA");
    let trusting = |party: &Party, peers: &[&str]| setup(&party.config(&ca.pem), peers);
    let pinning = |party: &Party, peer: &str, pinned: &Party, peers: &[&str]| {
        let config = party
            .config(&ca.pem)
            .peer_certificate_pem(peer, pinned.cert_pem.as_bytes())
            .expect("pin");
        setup(&config, peers)
    };
    let alice = make_party(&ca, "alice", V3);
    let bob = make_party(&ca, "bob", V3);
    // Alice trusts bob's CA (so she accepts bob), but her own certificate is
    // from a CA bob does not trust.
    let foreign_alice = make_party(&make_ca("Other CA"), "alice", V3);
    let mallory = make_party(&make_ca("Test CA"), "alice", V3);
    let expired = PartyOptions {
        expired: true,
        ..V3
    };
    let old_alice = make_party(&ca, "alice", expired);
    let any_time = UnixTime::since_unix_epoch(std::time::Duration::ZERO);
    let unknown_issuer = "does not verify against the configured CA bundle: UnknownIssuer";

    // (case, server, client, the name the client knows the server by, refusal)
    let cases: Vec<(&str, TlsSetup, TlsSetup, &str, Refusal)> = vec![
        (
            "a client from a CA the server does not trust",
            trusting(&bob, &["alice"]),
            trusting(&foreign_alice, &["bob"]),
            "bob",
            Refusal::Server(unknown_issuer),
        ),
        (
            "a server from a CA the client does not trust",
            trusting(&foreign_alice, &["bob"]),
            trusting(&bob, &["alice"]),
            "alice",
            Refusal::Client(unknown_issuer),
        ),
        (
            "a client from a rogue CA with the trusted CA's name",
            trusting(&bob, &["alice"]),
            trusting(&mallory, &["bob"]),
            "bob",
            Refusal::Server("does not verify against the configured CA bundle"),
        ),
        (
            "the server the client knows as bob presents carol's certificate",
            trusting(&make_party(&ca, "carol", V3), &["alice"]),
            pinning(&alice, "bob", &bob, &["bob", "carol"]),
            "bob",
            Refusal::Client("\"carol\""),
        ),
        (
            "the server presents another certificate with CN bob than the pinned one",
            trusting(&make_party(&ca, "bob", V3), &["alice"]),
            pinning(&alice, "bob", &bob, &["bob", "carol"]),
            "bob",
            Refusal::Client("pinned"),
        ),
        (
            "a client presents another certificate with CN alice than the pinned one",
            pinning(&bob, "alice", &alice, &["alice"]),
            trusting(&make_party(&ca, "alice", V3), &["bob"]),
            "bob",
            Refusal::Server("pinned"),
        ),
        (
            "an expired client",
            trusting(&bob, &["alice"]),
            trusting(&old_alice, &["bob"]),
            "bob",
            Refusal::ServerCert(CertificateError::ExpiredContext {
                time: any_time,
                not_after: any_time,
            }),
        ),
        (
            "an expired server",
            trusting(&old_alice, &["bob"]),
            trusting(&bob, &["alice"]),
            "alice",
            Refusal::Client("expired"),
        ),
        (
            "a client that is no configured peer",
            trusting(&bob, &["alice", "carol"]),
            trusting(&make_party(&ca, "dave", V3), &["bob"]),
            "bob",
            Refusal::Server("\"dave\""),
        ),
    ];
    for (case, server, client, server_name, refusal) in cases {
        refusal.check(case, handshake(&server, &client, server_name));
    }
}

#[test]
fn client_without_certificate_is_refused() {
    let ca = make_ca("Test CA");
    let alice = make_party(&ca, "alice", V3);
    let bob = make_party(&ca, "bob", V3);
    let a = setup(&alice.config(&ca.pem), &["bob"]);
    let b = setup(&bob.config(&ca.pem), &["alice"]);
    // A client that verifies bob like ours does, but has no certificate.
    let mut client = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ServerAuth::new(
            a.verifier.clone(),
            "bob".into(),
        )))
        .with_no_client_auth();
    client.alpn_protocols = vec![b"http/1.1".to_vec()];
    let err = connect(b.server_config(), Arc::new(client)).refused_by_server();
    assert!(
        matches!(err, rustls::Error::NoCertificatesPresented),
        "{err:?}"
    );
}

#[test]
fn tls12_only_client_cannot_connect() {
    let ca = make_ca("Test CA");
    let bob = make_party(&ca, "bob", V3);
    let alice = make_party(&ca, "alice", V3);
    let a = setup(&alice.config(&ca.pem), &["bob"]);
    let b = setup(&bob.config(&ca.pem), &["alice"]);
    let client = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ServerAuth::new(
            a.verifier.clone(),
            "bob".into(),
        )))
        .with_no_client_auth();
    let run = connect(b.server_config(), Arc::new(client));
    assert!(!run.exchanged && run.server_err.is_some());
}

#[test]
fn unknown_peer_has_no_client_config() {
    let ca = make_ca("Test CA");
    let alice = make_party(&ca, "alice", V3);
    let a = setup(&alice.config(&ca.pem), &["bob"]);
    assert!(a.client_config("bob").is_some());
    assert!(a.client_config("carol").is_none());
}

// ---------------------------------------------------------------------------
// Configuration errors.

#[test]
fn setup_refuses_pins_for_non_peers_and_shared_pins() {
    let ca = make_ca("Test CA");
    let alice = make_party(&ca, "alice", V3);
    let bob = make_party(&ca, "bob", V3);
    let config = alice
        .config(&ca.pem)
        .peer_certificate_pem("bob", bob.cert_pem.as_bytes())
        .expect("pin");
    let err = TlsSetup::new(&config, &peers(&["carol"])).expect_err("bob is no peer");
    assert!(
        matches!(&err, TlsError::PinnedCertificateForUnknownPeer { peer } if peer == "bob"),
        "{err:?}"
    );

    let config = config
        .peer_certificate_pem("carol", bob.cert_pem.as_bytes())
        .expect("pin");
    let err = TlsSetup::new(&config, &peers(&["bob", "carol"])).expect_err("shared pin");
    assert!(
        matches!(err, TlsError::SameCertificateForTwoPeers { .. }),
        "{err:?}"
    );
}

#[test]
fn key_must_match_certificate() {
    let err = TlsConfig::from_pem(tno::PARTY_0_KEY, tno::PARTY_1_CRT, tno::CA_COMBINED)
        .expect_err("mismatch");
    assert!(matches!(err, TlsError::KeyMismatch), "{err:?}");
    let ca = make_ca("Test CA");
    let alice = make_party(&ca, "alice", V3);
    let bob = make_party(&ca, "bob", V3);
    let err = TlsConfig::from_pem(
        alice.key_pem.as_bytes(),
        bob.cert_pem.as_bytes(),
        ca.pem.as_bytes(),
    )
    .expect_err("mismatch");
    assert!(matches!(err, TlsError::KeyMismatch), "{err:?}");
}

#[test]
fn debug_output_has_no_key_material() {
    let config = tno_config(tno::PARTY_0_KEY, tno::PARTY_0_CRT)
        .peer_certificate_pem("party_1", tno::PARTY_1_CRT)
        .expect("pin");
    let debug = format!("{config:?}");
    assert!(
        debug.contains("party_0") && debug.contains("ca-intermediate:2"),
        "{debug}"
    );
    let key_text = std::str::from_utf8(tno::PARTY_0_KEY).unwrap();
    let some_key_line = key_text.lines().nth(3).unwrap();
    assert!(!debug.contains(some_key_line));
    assert!(!debug.contains("PRIVATE KEY"));
    let s = setup(&config, &["party_1"]);
    let debug = format!("{s:?}");
    assert!(!debug.contains(some_key_line));
}

#[test]
fn root_hints_are_the_bundle_subjects() {
    let config = tno_config(tno::PARTY_0_KEY, tno::PARTY_0_CRT);
    let s = setup(&config, &["party_1"]);
    let hints = rustls::server::danger::ClientCertVerifier::root_hint_subjects(&ClientAuth::new(
        s.verifier.clone(),
    ))
    .to_vec();
    assert_eq!(hints.len(), 2);
    let root = CertificateDer::pem_slice_iter(tno::CA_COMBINED)
        .next()
        .unwrap()
        .unwrap();
    let parsed = Certificate::parse(root.as_ref()).unwrap();
    assert!(hints.iter().any(|h| h.as_ref() == parsed.subject));
}

// ---------------------------------------------------------------------------
// 4. Parser robustness: no panics on hostile input.

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

fn exercise(verifier: &PeerVerifier, der: &[u8]) {
    let _ = Certificate::parse(der).map(|c| {
        let _ = c.subject_common_names();
        let _ = c.issuer_common_name();
        let _ = c.serial_decimal();
    });
    let _ = python_identity(der);
    let cert = CertificateDer::from(der.to_vec());
    let _ = verifier.identify(&cert);
    let _ = verifier.check_for_test(&cert, Presenter::Client);
    let _ = verifier.check_for_test(&cert, Presenter::Server);
}

fn test_verifier() -> (PeerVerifier, Vec<Vec<u8>>) {
    let ca = make_ca("Test CA");
    let alice = make_party(&ca, "alice", V3);
    let (v1ca, v1alice, _) = v1_world(("200101000000Z", "491231235959Z"));
    let mut bundle = CertificateDer::pem_slice_iter(tno::CA_COMBINED)
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    bundle.push(ca.der.clone());
    bundle.push(v1ca.der.clone());
    let pins = vec![
        ("party_0".to_owned(), der_of(tno::PARTY_0_CRT)),
        ("v1alice".to_owned(), v1alice.der.clone()),
    ];
    let peers = ["party_0", "party_1", "alice", "v1alice"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let verifier = PeerVerifier::new(provider(), &bundle, pins, peers).expect("verifier");
    let samples = vec![
        der_of(tno::PARTY_0_CRT).to_vec(),
        der_of(tno::UNTRUSTED_CRT).to_vec(),
        alice.der.to_vec(),
        v1alice.der.to_vec(),
        ca.der.to_vec(),
    ];
    (verifier, samples)
}

#[test]
fn parser_survives_every_truncation() {
    let (verifier, samples) = test_verifier();
    for sample in &samples {
        // The full certificate parses; every proper prefix is an error.
        assert!(Certificate::parse(sample).is_ok());
        for len in 0..sample.len() {
            assert!(Certificate::parse(&sample[..len]).is_err(), "prefix {len}");
            exercise(&verifier, &sample[..len]);
        }
    }
}

#[test]
fn parser_survives_random_bytes_and_mutations() {
    let (verifier, samples) = test_verifier();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..3000 {
        let len = (rng.next() % 600) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Give some inputs a plausible start so parsing goes deeper.
        if rng.next() % 2 == 0 && bytes.len() > 4 {
            bytes[0] = 0x30;
            bytes[1] = 0x82;
        }
        exercise(&verifier, &bytes);
    }
    for sample in &samples {
        for _ in 0..600 {
            let mut mutated = sample.clone();
            for _ in 0..(1 + rng.next() % 4) {
                let at = (rng.next() as usize) % mutated.len();
                mutated[at] = rng.next() as u8;
            }
            exercise(&verifier, &mutated);
        }
    }
}

// ---------------------------------------------------------------------------
// 5. The CA bundle holds CA certificates only.

/// rcgen's issuer for an existing party certificate: its key, its subject
/// name (the same `dn` encoding as the certificate's).
fn issuer_of(party: &Party, cn: &str) -> Issuer<'static, KeyPair> {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(cn);
    Issuer::new(params, KeyPair::from_pem(&party.key_pem).expect("key"))
}

fn not_a_ca(err: &TlsError) -> (usize, &str, &str, &str) {
    match err {
        TlsError::NotACaCertificate {
            path: None,
            index,
            subject,
            serial,
            reason,
        } => (*index, subject.as_str(), serial.as_str(), reason.as_str()),
        other => panic!("expected NotACaCertificate without a path, got {other:?}"),
    }
}

#[test]
fn party_certificate_in_the_bundle_is_refused_and_cannot_vouch_for_others() {
    // The reported case: bundle = ca.crt + carol.crt, and a certificate for
    // CN=bob made with carol's key (issuer: carol's name). The old code
    // loaded the bundle, made carol a trust anchor, and alice accepted the
    // forgery as bob.
    let ca = make_ca("Test CA");
    let alice = make_party(&ca, "alice", V3);
    let carol = make_party(
        &ca,
        "carol",
        PartyOptions {
            serial: Some(4242),
            ..V3
        },
    );
    let forged_bob = make_party_by(&issuer_of(&carol, "carol"), "bob", V3);
    let poisoned = format!("{}{}", ca.pem, carol.cert_pem);

    // Loading: refused, naming the certificate.
    let err = TlsConfig::from_pem(
        alice.key_pem.as_bytes(),
        alice.cert_pem.as_bytes(),
        poisoned.as_bytes(),
    )
    .expect_err("a party certificate in the CA bundle");
    let (index, subject, serial, reason) = not_a_ca(&err);
    assert_eq!((index, subject, serial), (2, "CN=carol", "4242"));
    assert!(reason.contains("basicConstraints"), "{reason}");
    let text = err.to_string();
    assert!(
        text.contains("certificate #2 of the CA bundle (CN=carol, serial 4242) is not a CA"),
        "{text}"
    );

    // The real verifier: a configuration that bypasses the loader (only
    // possible inside the crate) is refused when the verifier is built.
    let bypass = TlsConfig {
        ca_bundle: CertificateDer::pem_slice_iter(poisoned.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("PEM"),
        ..alice.config(&ca.pem)
    };
    let err = TlsSetup::new(&bypass, &peers(&["bob", "carol"])).expect_err("verifier");
    assert!(
        matches!(&err, TlsError::InvalidCertificate { what, reason }
            if what == "CA bundle (certificate #2)" && reason.contains("not a CA certificate")),
        "{err:?}"
    );

    // With the CA alone, the forgery is refused in a real handshake: alice
    // connects to "bob" and is shown the forged certificate.
    let a = setup(&alice.config(&ca.pem), &["bob", "carol"]);
    let forger = setup(&forged_bob.config(&ca.pem), &["alice"]);
    let err = handshake(&forger, &a, "bob").refused_by_client();
    assert!(message(&err).contains("UnknownIssuer"), "{err}");
    // ... and as a client, on bob's... on alice's server.
    let err = handshake(&a, &forger, "alice").refused_by_server();
    assert!(message(&err).contains("UnknownIssuer"), "{err}");
}

#[test]
fn bundle_certificates_must_be_cas() {
    let ca = make_ca("Test CA");
    let alice = make_party(&ca, "alice", V3);
    let load = |bundle: &str| {
        TlsConfig::from_pem(
            alice.key_pem.as_bytes(),
            alice.cert_pem.as_bytes(),
            bundle.as_bytes(),
        )
    };
    let self_signed = |cn: &str, is_ca: IsCa, usages: Vec<KeyUsagePurpose>| {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(cn);
        params.is_ca = is_ca;
        params.key_usages = usages;
        params.serial_number = Some(SerialNumber::from(7u64));
        params.self_signed(&key).expect("certificate").pem()
    };

    // basicConstraints CA:FALSE.
    let explicit_no_ca = self_signed("not a CA", IsCa::ExplicitNoCa, vec![]);
    let err = load(&format!("{}{explicit_no_ca}", ca.pem)).expect_err("CA:FALSE");
    let (index, subject, serial, reason) = not_a_ca(&err);
    assert_eq!((index, subject, serial), (2, "CN=not a CA", "7"));
    assert!(reason.contains("CA:FALSE"), "{reason}");

    // No basicConstraints at all (first in the bundle).
    let none = self_signed("no constraints", IsCa::NoCa, vec![]);
    let err = load(&format!("{none}{}", ca.pem)).expect_err("no basicConstraints");
    let (index, _, _, reason) = not_a_ca(&err);
    assert_eq!(index, 1);
    assert!(reason.contains("without a basicConstraints"), "{reason}");

    // CA:TRUE, but a keyUsage without keyCertSign.
    let no_cert_sign = self_signed(
        "signs no certificates",
        IsCa::Ca(BasicConstraints::Unconstrained),
        vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign],
    );
    let err = load(&no_cert_sign).expect_err("no keyCertSign");
    let (_, subject, _, reason) = not_a_ca(&err);
    assert_eq!(subject, "CN=signs no certificates");
    assert!(reason.contains("keyCertSign"), "{reason}");

    // CA:TRUE with keyCertSign, and CA:TRUE without any keyUsage: fine.
    let with_usage = self_signed(
        "CA with usage",
        IsCa::Ca(BasicConstraints::Constrained(0)),
        vec![KeyUsagePurpose::KeyCertSign],
    );
    let without_usage = self_signed(
        "CA without usage",
        IsCa::Ca(BasicConstraints::Unconstrained),
        vec![],
    );
    load(&format!("{}{with_usage}{without_usage}", ca.pem)).expect("CAs");
    // The Python package's bundle (two v3 CAs): fine.
    tno_config(tno::PARTY_0_KEY, tno::PARTY_0_CRT);

    // A subject name that would forge log lines is escaped in the error.
    let nasty = self_signed("evil\nINFO forged", IsCa::NoCa, vec![]);
    let err = load(&nasty).expect_err("not a CA");
    assert!(!err.to_string().contains('\n'), "{err}");
    assert!(err.to_string().contains("CN=evil\\nINFO forged"), "{err}");
}

#[test]
fn x509_v1_ca_in_the_bundle_keeps_working() {
    // An X.509 v1 CA (no extensions, so nothing says it is not a CA): it
    // stays a trust anchor for v3 leaves (webpki) and an issuer for pinned
    // v1 leaves (the legacy path), as before.
    let root_key = KeyPair::generate().expect("key");
    let validity = ("200101000000Z", "491231235959Z");
    let root = make_v1_with_key(&root_key, "v1 root", &root_key, "v1 root", 1, validity);
    assert_eq!(
        Certificate::parse(root.der.as_ref())
            .expect("v1 root")
            .version_number(),
        1
    );
    let v3_issuer = {
        let mut params = CertificateParams::default();
        params.distinguished_name = dn("v1 root");
        Issuer::new(params, KeyPair::from_pem(&root.key_pem).expect("key"))
    };
    let alice = make_party_by(&v3_issuer, "alice", V3);
    let bob = make_party_by(&v3_issuer, "bob", V3);
    let a = setup(&alice.config(&root.cert_pem), &["bob", "carol"]);
    let b = setup(&bob.config(&root.cert_pem), &["alice"]);
    let run = handshake(&b, &a, "bob");
    run.assert_ok();
    assert_eq!(b.identify(&run.server_saw()).as_deref(), Some("alice"));

    let carol = make_v1(&root_key, "v1 root", "carol", 9, validity);
    let a = setup(
        &alice
            .config(&root.cert_pem)
            .peer_certificate_pem("carol", carol.cert_pem.as_bytes())
            .expect("pin"),
        &["bob", "carol"],
    );
    let c = setup(&carol.config(&root.cert_pem), &["alice"]);
    handshake(&c, &a, "carol").assert_ok();
}

// ---------------------------------------------------------------------------
// 6. Logs: names from the network are escaped.

fn is_unsafe_for_logs(text: &str) -> bool {
    text.chars().any(|c| c.is_control() || c == '\u{202e}')
}

#[test]
fn names_from_refused_certificates_are_escaped_in_logs() {
    const FORGE: &str = "\nWARN mpc_http: peer certificate accepted peer=bob\r\u{1b}[2K\u{202e}";
    const ESCAPED: &str =
        "\\nWARN mpc_http: peer certificate accepted peer=bob\\r\\u{1b}[2K\\u{202e}";
    let ca = make_ca("Test CA");
    let bob = make_party(&ca, "bob", V3);
    let b = setup(&bob.config(&ca.pem), &["alice"]);
    // A client whose CA is not trusted: both its issuer CN and its subject
    // CN hold a newline, a carriage return, an ANSI escape and a
    // right-to-left override.
    let evil_ca = make_ca(&format!("Evil CA{FORGE}"));
    let mallory = make_party(&evil_ca, &format!("alice{FORGE}"), V3);
    let m = setup(&mallory.config(&ca.pem), &["bob"]);
    // A client from the trusted CA whose CN is no peer name (refused on
    // identity after the chain check).
    let dave = make_party(&ca, &format!("dave{FORGE}"), V3);
    let d = setup(&dave.config(&ca.pem), &["bob"]);

    // What the warning "refusing peer certificate" logs.
    let logged = |der: &CertificateDer<'_>, presenter, expected| {
        let log = b
            .verifier
            .refusal_log_for_test(der, presenter, expected)
            .expect("refused");
        for (field, value) in [
            ("identity", &log.identity),
            ("certificate", &log.certificate),
            ("expected_peer", &log.expected_peer),
            ("reason", &log.reason),
            ("message", &log.message),
        ] {
            assert!(
                !is_unsafe_for_logs(value),
                "field {field} is not escaped: {value:?}"
            );
        }
        log
    };
    let serial = Certificate::parse(mallory.der.as_ref())
        .expect("parse")
        .serial_decimal();
    let log = logged(&mallory.der, Presenter::Client, None);
    assert_eq!(
        log.certificate,
        format!("CN=alice{ESCAPED} (Evil CA{ESCAPED}:{serial})")
    );
    assert_eq!(log.identity, format!("Evil CA{ESCAPED}:{serial}"));
    assert!(log.message.contains(&log.certificate), "{log:?}");
    let log = logged(&mallory.der, Presenter::Server, Some("alice"));
    assert!(log.message.contains("Evil CA\\n"), "{log:?}");

    let log = logged(&dave.der, Presenter::Client, None);
    assert!(log
        .certificate
        .starts_with(&format!("CN=dave{ESCAPED} (Test CA:")));
    assert!(
        log.reason.contains("is not the name of a configured peer"),
        "{log:?}"
    );

    // The handshake errors (which end up in other logs) are escaped too.
    for err in [
        handshake(&b, &m, "bob").refused_by_server(),
        handshake(&b, &d, "bob").refused_by_server(),
    ] {
        let text = err.to_string();
        assert!(!is_unsafe_for_logs(&text), "{text:?}");
        assert!(text.contains(ESCAPED), "{text:?}");
    }
}
