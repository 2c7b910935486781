//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`). Not
//! part of the API: they may change with any release.

use std::collections::BTreeSet;

use rustls_pki_types::{CertificateDer, UnixTime};

use super::verify::{PeerVerifier, Presenter};
use super::x509::Certificate;
use super::{
    check_ca_certificate, describe, load_ca_bundle, provider, python_identity, TlsConfig, TlsError,
};
use crate::logsafe::escape;

/// Runs every reader of certificate bytes on `der`: parsing, the names, the
/// serial, the texts for logs, and the CA-bundle check. Must not panic.
pub fn read_certificate(der: &[u8]) {
    if let Ok(cert) = Certificate::parse(der) {
        if let Ok(names) = cert.subject_common_names() {
            for name in names {
                assert!(!escape(&name).chars().any(char::is_control));
            }
        }
        let _ = cert.subject_common_name();
        let _ = cert.issuer_common_name();
        let _ = cert.serial_decimal();
        let _ = cert.ca_refusal();
        assert!(cert.not_before >= 0 && cert.not_after >= 0);
    }
    let text = describe(der);
    assert!(!text.chars().any(char::is_control), "{text:?}");
    let _ = python_identity(der);
    if let Err(e) = check_ca_certificate(der, 1, None) {
        let text = e.to_string();
        assert!(!text.chars().any(char::is_control), "{text:?}");
    }
}

/// A certificate verifier as a party builds it from its CA bundle, its
/// pinned peer certificates and its peer names.
#[derive(Debug)]
pub struct Verifier(PeerVerifier);

impl Verifier {
    /// `ca_bundle_pem` as for [`TlsConfig::from_pem`]; `pins`: (peer, PEM of
    /// the pinned certificate); `peers`: all peer names.
    pub fn new(
        ca_bundle_pem: &[u8],
        pins: &[(&str, &[u8])],
        peers: &[&str],
    ) -> Result<Self, TlsError> {
        let bundle = load_ca_bundle(ca_bundle_pem, None)?;
        let mut pinned = Vec::with_capacity(pins.len());
        for (peer, pem) in pins {
            pinned.push(((*peer).to_owned(), TlsConfig::first_certificate(peer, pem)?));
        }
        let peers: BTreeSet<String> = peers.iter().map(|p| (*p).to_owned()).collect();
        PeerVerifier::new(provider(), &bundle, pinned, peers)
            .map(Self)
            .map_err(|e| match e {
                super::verify::BuildError::BadCa(index, reason) => TlsError::InvalidCertificate {
                    what: format!("CA bundle (certificate #{})", index + 1),
                    reason,
                },
            })
    }

    /// The whole policy for `end_entity` (with `intermediates`) at
    /// `now_unix`: which peer it identifies, and which peer it is accepted as
    /// when a client presents it, and when the server of `expected`
    /// presents it. Must not panic.
    pub fn check(
        &self,
        end_entity: &[u8],
        intermediates: &[&[u8]],
        now_unix: u64,
        expected: &str,
    ) -> [Option<String>; 3] {
        let ee = CertificateDer::from(end_entity);
        let intermediates: Vec<CertificateDer<'_>> = intermediates
            .iter()
            .map(|der| CertificateDer::from(*der))
            .collect();
        let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(now_unix));
        let check = |presenter, expected| {
            self.0
                .accept(presenter, &ee, &intermediates, now, expected)
                .map_err(|e| {
                    let text = e.to_string();
                    assert!(!text.contains(['\n', '\r']), "{text:?}");
                })
                .ok()
        };
        [
            self.0.identify(&ee),
            check(Presenter::Client, None),
            check(Presenter::Server, Some(expected)),
        ]
    }
}
