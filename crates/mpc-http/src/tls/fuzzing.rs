//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`). Not
//! part of the API: they may change with any release.

use std::collections::BTreeSet;

use rustls_pki_types::{CertificateDer, UnixTime};

use super::label::{describe, python_identity};
use super::policy::{BuildError, PeerVerifier, Presenter};
use super::x509::Certificate;
use super::{check_ca_bundle, check_ca_certificate, check_certificate, provider, TlsError};
use crate::logsafe::escape;

/// Whether `text` could forge or disguise a log line.
fn unsafe_for_logs(text: &str) -> bool {
    text.chars().any(|c| c.is_control() || c == '\u{202e}')
}

/// Runs every reader of certificate bytes on `der`: parsing, the names, the
/// serial, the texts for logs, and the CA-bundle check. Panics only if an
/// invariant fails: a text meant for logs holds a control character, or a
/// certificate time is before 1970.
pub fn read_certificate(der: &[u8]) {
    if let Ok(cert) = Certificate::parse(der) {
        if let Ok(names) = cert.subject_common_names() {
            for name in names {
                assert!(!unsafe_for_logs(&escape(&name)), "{name:?}");
            }
        }
        let _ = cert.subject_common_name();
        let _ = cert.issuer_common_name();
        let _ = cert.serial_decimal();
        let _ = cert.ca_refusal();
        assert!(cert.not_before >= 0 && cert.not_after >= 0);
    }
    let text = describe(der);
    assert!(!unsafe_for_logs(&text), "{text:?}");
    let _ = python_identity(der);
    if let Err(e) = check_ca_certificate(der, 1, None) {
        let text = e.to_string();
        assert!(!unsafe_for_logs(&text), "{text:?}");
    }
}

/// A certificate verifier as a party builds it from its CA bundle, its
/// pinned peer certificates and its peer names.
#[derive(Debug)]
pub struct Verifier(PeerVerifier);

impl Verifier {
    /// `ca_bundle`: DER certificates, checked as a loaded CA bundle is;
    /// `pins`: (peer, DER of the pinned certificate); `peers`: all peer names.
    pub fn new(
        ca_bundle: &[&[u8]],
        pins: &[(&str, &[u8])],
        peers: &[&str],
    ) -> Result<Self, TlsError> {
        let bundle: Vec<CertificateDer<'static>> = ca_bundle
            .iter()
            .map(|der| CertificateDer::from(der.to_vec()))
            .collect();
        for cert in &bundle {
            check_certificate(cert, "CA bundle")?;
        }
        check_ca_bundle(&bundle, None)?;
        let mut pinned = Vec::with_capacity(pins.len());
        for (peer, der) in pins {
            let cert = CertificateDer::from(der.to_vec());
            check_certificate(&cert, "pinned certificate")?;
            pinned.push(((*peer).to_owned(), cert));
        }
        let peers: BTreeSet<String> = peers.iter().map(|p| (*p).to_owned()).collect();
        PeerVerifier::new(provider(), &bundle, pinned, peers)
            .map(Self)
            .map_err(
                |BuildError::BadCa(index, reason)| TlsError::InvalidCertificate {
                    what: format!("CA bundle (certificate #{})", index + 1),
                    reason,
                },
            )
    }

    /// The whole policy for `end_entity` (with `intermediates`) at
    /// `now_unix`: which peer it identifies, which peer it is accepted as
    /// when a client presents it, and whether it is accepted when the server
    /// of `expected` presents it. Panics only if an invariant fails: a
    /// handshake error holds a control character, or the three answers
    /// disagree.
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
        let check = |presenter, expected| match self.0.accept(
            presenter,
            &ee,
            &intermediates,
            now,
            expected,
        ) {
            Ok(peer) => Some(peer),
            Err(e) => {
                let text = e.to_string();
                assert!(!unsafe_for_logs(&text), "{text:?}");
                None
            }
        };
        let identified = self.0.identify(&ee);
        let as_client = check(Presenter::Client, None);
        let as_server = check(Presenter::Server, Some(expected));
        if let Some(peer) = &as_client {
            assert_eq!(identified.as_ref(), Some(peer), "accepted as another peer");
        }
        if let Some(peer) = &as_server {
            assert_eq!(peer, expected, "accepted as the wrong server");
        }
        [identified, as_client, as_server]
    }
}
