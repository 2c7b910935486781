//! The certificate policy: which peer a presented certificate identifies,
//! whether its chain verifies, and why it is refused.
//!
//! One [`PeerVerifier`] holds the trust anchors (the CA bundle), the pinned
//! peer certificates and the peer names; [`PeerVerifier::accept`] is the
//! whole policy for one certificate. The rustls verifier traits that call it
//! are in [`verify`](super::verify).

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, SignatureScheme,
};
use rustls_pki_types::{CertificateDer, SubjectPublicKeyInfoDer, TrustAnchor, UnixTime};

use super::label::{describe, python_identity};
use super::x509::{Certificate, DerError};
use crate::logsafe::escape;

/// A CA certificate from the bundle, as the legacy (X.509 v1) path needs it.
#[derive(Debug)]
struct CaCert {
    /// Complete subject Name encoding.
    subject: Vec<u8>,
    /// Contents of the SubjectPublicKeyInfo AlgorithmIdentifier.
    spki_alg: Vec<u8>,
    /// The subjectPublicKey bytes.
    public_key: Vec<u8>,
}

/// Which side of the connection presented the certificate being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presenter {
    /// A client connecting to our server.
    Client,
    /// The server we connect to.
    Server,
}

impl Presenter {
    fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Server => "server",
        }
    }
}

/// How the chain of a certificate was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChainPath {
    /// rustls-webpki path building (X.509 v3 certificates).
    WebPki,
    /// One signature from a configured CA (X.509 v1/v2 certificates).
    Legacy,
}

impl ChainPath {
    fn as_str(self) -> &'static str {
        match self {
            Self::WebPki => "webpki",
            Self::Legacy => "legacy-v1",
        }
    }
}

/// How a certificate identifies a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Identification {
    /// Byte-identical to the certificate pinned for this peer.
    Pinned(String),
    /// Subject CN equals the name of this peer, which has no pinned certificate.
    CommonName(String),
    /// No configured peer.
    Nobody(NoPeer),
}

/// Why a certificate identifies no peer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NoPeer {
    /// Not pinned, and the certificate is not X.509 v3 (the CN rule needs v3).
    NotV3 { version: u8 },
    /// The subject CN names a peer that has a pinned certificate, and this is not it.
    PinMismatch { peer: String },
    /// The subject CN (if any, and if exactly one) is not a peer name.
    UnknownName { common_name: Option<String> },
}

impl fmt::Display for NoPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotV3 { version } => write!(
                f,
                "it is an X.509 v{version} certificate that is not pinned for any peer \
                 (only pinned certificates are accepted unless they are X.509 v3)"
            ),
            Self::PinMismatch { peer } => write!(
                f,
                "its subject CN is {peer:?}, but it is not the certificate pinned for peer {peer:?}"
            ),
            Self::UnknownName {
                common_name: Some(cn),
            } => write!(
                f,
                "its subject CN {cn:?} is not the name of a configured peer"
            ),
            Self::UnknownName { common_name: None } => write!(
                f,
                "it has no single subject CN and is not pinned for any peer"
            ),
        }
    }
}

/// Why a presented certificate was refused.
#[derive(Debug)]
enum Rejection {
    /// Not a readable X.509 certificate.
    Malformed(DerError),
    /// rustls-webpki refused the chain.
    WebPki(webpki::Error),
    /// Legacy path: before notBefore.
    NotYetValid { now: i64, not_before: i64 },
    /// Legacy path: after notAfter.
    Expired { now: i64, not_after: i64 },
    /// Legacy path: no CA in the bundle has the certificate's issuer name.
    UnknownIssuer,
    /// Legacy path: tbsCertificate.signature differs from signatureAlgorithm.
    SignatureAlgorithmMismatch,
    /// Legacy path: no supported algorithm for this signature and issuer key.
    UnsupportedSignatureAlgorithm,
    /// Legacy path: the signature does not verify with any CA of that name.
    BadSignature,
    /// The chain verified but the certificate identifies no configured peer.
    NoPeer(NoPeer),
    /// A non-v3 certificate verified by the legacy path must be pinned.
    LegacyNotPinned { peer: String },
    /// Client side: the certificate identifies a different peer.
    WrongPeer { expected: String, actual: String },
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "not a readable X.509 certificate: {e}"),
            Self::WebPki(e) => write!(
                f,
                "certificate chain does not verify against the configured CA bundle: {}",
                describe_webpki(e)
            ),
            Self::NotYetValid { now, not_before } => write!(
                f,
                "certificate is not valid yet (notBefore {not_before}, now {now}, Unix seconds)"
            ),
            Self::Expired { now, not_after } => write!(
                f,
                "certificate has expired (notAfter {not_after}, now {now}, Unix seconds)"
            ),
            Self::UnknownIssuer => write!(
                f,
                "no certificate in the configured CA bundle has this certificate's issuer name"
            ),
            Self::SignatureAlgorithmMismatch => write!(
                f,
                "the certificate's signature algorithm differs from the one in its signed part"
            ),
            Self::UnsupportedSignatureAlgorithm => write!(
                f,
                "the certificate's signature algorithm is not supported for the issuing CA's key"
            ),
            Self::BadSignature => write!(
                f,
                "the certificate is not signed by the configured CA that has its issuer name"
            ),
            Self::NoPeer(why) => write!(f, "certificate identifies no configured peer: {why}"),
            Self::LegacyNotPinned { peer } => write!(
                f,
                "X.509 v1 certificate with the CN of peer {peer:?} is not the certificate pinned \
                 for it (v1 certificates are only accepted when pinned)"
            ),
            Self::WrongPeer { expected, actual } => write!(
                f,
                "certificate identifies peer {actual:?}, but this connection is to peer {expected:?}"
            ),
        }
    }
}

fn describe_webpki(e: &webpki::Error) -> String {
    match e {
        webpki::Error::UnknownIssuer => {
            "UnknownIssuer (not issued by a CA in the bundle, or not signed by it)".to_owned()
        }
        webpki::Error::CertExpired { time, not_after } => format!(
            "certificate has expired (notAfter {}, now {}, Unix seconds)",
            not_after.as_secs(),
            time.as_secs()
        ),
        webpki::Error::CertNotValidYet { time, not_before } => format!(
            "certificate is not valid yet (notBefore {}, now {}, Unix seconds)",
            not_before.as_secs(),
            time.as_secs()
        ),
        webpki::Error::InvalidSignatureForPublicKey => {
            "InvalidSignatureForPublicKey (a CA in the bundle has the issuer's name, \
             but did not make this signature)"
                .to_owned()
        }
        other => format!("{other:?}"),
    }
}

/// A readable refusal carried inside `CertificateError::Other`. Its Debug is
/// its message, because rustls prints `CertificateError::Other` with Debug.
struct Refused(String);

impl fmt::Debug for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

fn other(message: String) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(Refused(
        message,
    )))))
}

fn unix(secs: i64) -> UnixTime {
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(secs).unwrap_or(0),
    ))
}

impl Rejection {
    /// The rustls error for this refusal. Expiry keeps rustls' own variants
    /// (their messages carry the times, and the peer gets the
    /// `certificate_expired` alert); everything else becomes
    /// `CertificateError::Other` carrying the full message (the peer gets
    /// `certificate_unknown`), because the bare standard variants
    /// (`UnknownIssuer`, `BadSignature`) would not say which certificate or
    /// which check.
    fn to_rustls(&self, message: String) -> rustls::Error {
        let cert_error = match self {
            Self::Malformed(_) => CertificateError::BadEncoding,
            Self::NotYetValid { now, not_before } => CertificateError::NotValidYetContext {
                time: unix(*now),
                not_before: unix(*not_before),
            },
            Self::Expired { now, not_after } => CertificateError::ExpiredContext {
                time: unix(*now),
                not_after: unix(*not_after),
            },
            Self::WebPki(webpki::Error::CertExpired { time, not_after }) => {
                CertificateError::ExpiredContext {
                    time: *time,
                    not_after: *not_after,
                }
            }
            Self::WebPki(webpki::Error::CertNotValidYet { time, not_before }) => {
                CertificateError::NotValidYetContext {
                    time: *time,
                    not_before: *not_before,
                }
            }
            _ => return other(message),
        };
        rustls::Error::InvalidCertificate(cert_error)
    }
}

/// The texts logged (and put into the handshake error) for a refused
/// certificate. Everything that comes from the certificate is escaped
/// ([`escape`]; quoted names inside `reason` with Rust's `{:?}` escaping),
/// so no field holds a control character.
#[derive(Debug)]
pub(crate) struct RefusalLog {
    /// `"<issuer CN>:<serial>"`, the Python package's identity.
    pub(crate) identity: String,
    /// `"CN=<subject CN> (<issuer CN>:<serial>)"`.
    pub(crate) certificate: String,
    /// "client" or "server".
    pub(crate) presenter: &'static str,
    /// The peer we connected to (client side), or empty.
    pub(crate) expected_peer: String,
    /// Why it was refused.
    pub(crate) reason: String,
    /// The whole message, for the handshake error.
    pub(crate) message: String,
}

impl RefusalLog {
    fn new(
        presenter: Presenter,
        end_entity: &[u8],
        expected: Option<&str>,
        rejection: &Rejection,
    ) -> Self {
        let identity = python_identity(end_entity).unwrap_or_else(|| "<unknown>".to_owned());
        let certificate = describe(end_entity);
        let message = match expected {
            Some(peer) => format!(
                "certificate {certificate} presented by the server of peer {peer:?} \
                 refused: {rejection}"
            ),
            None => format!("client certificate {certificate} refused: {rejection}"),
        };
        Self {
            identity: escape(&identity).into_owned(),
            certificate,
            presenter: presenter.as_str(),
            expected_peer: escape(expected.unwrap_or("")).into_owned(),
            reason: rejection.to_string(),
            message,
        }
    }
}

/// The verification state shared by the server and all per-peer clients.
pub(crate) struct PeerVerifier {
    provider: Arc<CryptoProvider>,
    anchors: Vec<TrustAnchor<'static>>,
    cas: Vec<CaCert>,
    hints: Vec<DistinguishedName>,
    /// (peer, pinned end-entity certificate).
    pins: Vec<(String, CertificateDer<'static>)>,
    peers: BTreeSet<String>,
}

impl fmt::Debug for PeerVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerVerifier")
            .field("trust_anchors", &self.anchors.len())
            .field("peers", &self.peers)
            .field(
                "pinned",
                &self
                    .pins
                    .iter()
                    .map(|(p, _)| p.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Errors building a [`PeerVerifier`]; the caller turns them into `TlsError`.
#[derive(Debug)]
pub(crate) enum BuildError {
    /// A CA bundle certificate is unusable (index, reason).
    BadCa(usize, String),
}

impl PeerVerifier {
    /// Builds the verifier. `pins` must name only peers in `peers` (checked by the caller).
    pub(crate) fn new(
        provider: Arc<CryptoProvider>,
        ca_bundle: &[CertificateDer<'static>],
        pins: Vec<(String, CertificateDer<'static>)>,
        peers: BTreeSet<String>,
    ) -> Result<Self, BuildError> {
        let mut anchors = Vec::with_capacity(ca_bundle.len());
        let mut cas = Vec::with_capacity(ca_bundle.len());
        let mut hints = Vec::with_capacity(ca_bundle.len());
        for (index, der) in ca_bundle.iter().enumerate() {
            let anchor = webpki::anchor_from_trusted_cert(der)
                .map_err(|e| BuildError::BadCa(index, format!("{e:?}")))?
                .to_owned();
            let parsed =
                Certificate::parse(der).map_err(|e| BuildError::BadCa(index, e.to_string()))?;
            // Checked when the bundle is loaded; again here, as the trust
            // anchors are made here.
            if let Some(reason) = parsed.ca_refusal() {
                return Err(BuildError::BadCa(
                    index,
                    format!("not a CA certificate: {reason}"),
                ));
            }
            hints.push(DistinguishedName::from(parsed.subject.to_vec()));
            cas.push(CaCert {
                subject: parsed.subject.to_vec(),
                spki_alg: parsed.spki_alg.to_vec(),
                public_key: parsed.public_key.to_vec(),
            });
            anchors.push(anchor);
        }
        Ok(Self {
            provider,
            anchors,
            cas,
            hints,
            pins,
            peers,
        })
    }

    /// Which peer this certificate identifies (no chain check).
    fn identification(&self, der: &[u8], cert: Option<&Certificate<'_>>) -> Identification {
        if let Some((peer, _)) = self.pins.iter().find(|(_, pin)| pin.as_ref() == der) {
            return Identification::Pinned(peer.clone());
        }
        let Some(cert) = cert else {
            return Identification::Nobody(NoPeer::UnknownName { common_name: None });
        };
        let common_name = cert.subject_common_name();
        if let Some(cn) = &common_name {
            if self.pins.iter().any(|(peer, _)| peer == cn) {
                return Identification::Nobody(NoPeer::PinMismatch { peer: cn.clone() });
            }
        }
        if !cert.is_v3() {
            return Identification::Nobody(NoPeer::NotV3 {
                version: cert.version_number(),
            });
        }
        match common_name {
            Some(cn) if self.peers.contains(&cn) => Identification::CommonName(cn),
            common_name => Identification::Nobody(NoPeer::UnknownName { common_name }),
        }
    }

    /// Which configured peer presented this end-entity certificate, if any.
    pub(crate) fn identify(&self, end_entity: &CertificateDer<'_>) -> Option<String> {
        let parsed = Certificate::parse(end_entity.as_ref()).ok();
        match self.identification(end_entity.as_ref(), parsed.as_ref()) {
            Identification::Pinned(peer) | Identification::CommonName(peer) => Some(peer),
            Identification::Nobody(_) => None,
        }
    }

    /// Checks the chain of `cert` against the CA bundle (webpki, or the
    /// legacy single-signature path for non-v3 certificates).
    fn check_chain(
        &self,
        end_entity: &CertificateDer<'_>,
        cert: &Certificate<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
        presenter: Presenter,
    ) -> Result<ChainPath, Rejection> {
        let ee = match webpki::EndEntityCert::try_from(end_entity) {
            Ok(ee) => ee,
            Err(webpki::Error::UnsupportedCertVersion) => {
                return self.check_legacy(cert, now).map(|()| ChainPath::Legacy);
            }
            Err(e) => return Err(Rejection::WebPki(e)),
        };
        let usage = match presenter {
            Presenter::Client => webpki::KeyUsage::client_auth(),
            Presenter::Server => webpki::KeyUsage::server_auth(),
        };
        ee.verify_for_usage(
            self.provider.signature_verification_algorithms.all,
            &self.anchors,
            intermediates,
            now,
            usage,
            None,
            None,
        )
        .map(|_| ChainPath::WebPki)
        .map_err(Rejection::WebPki)
    }

    /// The legacy path: validity period, then one signature by a CA from the
    /// bundle whose subject equals the certificate's issuer.
    fn check_legacy(&self, cert: &Certificate<'_>, now: UnixTime) -> Result<(), Rejection> {
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        if now < cert.not_before {
            return Err(Rejection::NotYetValid {
                now,
                not_before: cert.not_before,
            });
        }
        if now > cert.not_after {
            return Err(Rejection::Expired {
                now,
                not_after: cert.not_after,
            });
        }
        if cert.tbs_signature_alg != cert.signature_alg {
            return Err(Rejection::SignatureAlgorithmMismatch);
        }
        let mut issuers = self
            .cas
            .iter()
            .filter(|ca| ca.subject.as_slice() == cert.issuer)
            .peekable();
        if issuers.peek().is_none() {
            return Err(Rejection::UnknownIssuer);
        }
        let mut any_algorithm = false;
        for ca in issuers {
            for alg in self.provider.signature_verification_algorithms.all {
                if alg.signature_alg_id().as_ref() != cert.signature_alg
                    || alg.public_key_alg_id().as_ref() != ca.spki_alg.as_slice()
                {
                    continue;
                }
                any_algorithm = true;
                if alg
                    .verify_signature(&ca.public_key, cert.tbs, cert.signature)
                    .is_ok()
                {
                    return Ok(());
                }
            }
        }
        if any_algorithm {
            Err(Rejection::BadSignature)
        } else {
            Err(Rejection::UnsupportedSignatureAlgorithm)
        }
    }

    /// The whole policy for one presented certificate: chain, then identity.
    /// `expected` is the peer we connected to (client side), `None` on the
    /// server side. Returns the identified peer.
    pub(crate) fn accept(
        &self,
        presenter: Presenter,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
        expected: Option<&str>,
    ) -> Result<String, rustls::Error> {
        let result = self.decide(presenter, end_entity, intermediates, now, expected);
        match result {
            Ok((peer, path)) => {
                tracing::debug!(
                    peer = %escape(&peer),
                    presenter = presenter.as_str(),
                    path = path.as_str(),
                    identity = %escape(&python_identity(end_entity.as_ref()).unwrap_or_default()),
                    "peer certificate accepted"
                );
                Ok(peer)
            }
            Err(rejection) => {
                let log = RefusalLog::new(presenter, end_entity.as_ref(), expected, &rejection);
                tracing::warn!(
                    identity = %log.identity,
                    certificate = %log.certificate,
                    presenter = log.presenter,
                    expected_peer = %log.expected_peer,
                    reason = %log.reason,
                    "refusing peer certificate"
                );
                Err(rejection.to_rustls(log.message))
            }
        }
    }

    fn decide(
        &self,
        presenter: Presenter,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
        expected: Option<&str>,
    ) -> Result<(String, ChainPath), Rejection> {
        let cert = Certificate::parse(end_entity.as_ref()).map_err(Rejection::Malformed)?;
        let path = self.check_chain(end_entity, &cert, intermediates, now, presenter)?;
        let peer = match self.identification(end_entity.as_ref(), Some(&cert)) {
            Identification::Pinned(peer) => peer,
            Identification::CommonName(peer) => {
                if path == ChainPath::Legacy {
                    // Unreachable while the CN rule requires v3 (and the
                    // legacy path only handles non-v3), kept as a guard.
                    return Err(Rejection::LegacyNotPinned { peer });
                }
                peer
            }
            Identification::Nobody(why) => return Err(Rejection::NoPeer(why)),
        };
        if let Some(expected) = expected {
            if peer != expected {
                return Err(Rejection::WrongPeer {
                    expected: expected.to_owned(),
                    actual: peer,
                });
            }
        }
        Ok((peer, path))
    }

    /// TLS 1.3 CertificateVerify: the signature with the end-entity
    /// certificate's public key (works for v1 certificates too).
    pub(crate) fn verify_tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let parsed = Certificate::parse(cert.as_ref())
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
        let spki = SubjectPublicKeyInfoDer::from(parsed.spki);
        rustls::crypto::verify_tls13_signature_with_raw_key(
            message,
            &spki,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    /// The signature schemes of the crypto provider.
    pub(crate) fn supported_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }

    /// The subjects of the CA bundle, offered to clients as hints.
    pub(crate) fn root_hints(&self) -> &[DistinguishedName] {
        &self.hints
    }
}

#[cfg(test)]
impl PeerVerifier {
    /// What [`accept`](Self::accept) logs when it refuses `end_entity` as
    /// presented by `presenter` (at the current time), or `None` if it
    /// accepts it.
    pub(crate) fn refusal_log_for_test(
        &self,
        end_entity: &CertificateDer<'_>,
        presenter: Presenter,
        expected: Option<&str>,
    ) -> Option<RefusalLog> {
        self.decide(presenter, end_entity, &[], UnixTime::now(), expected)
            .err()
            .map(|rejection| RefusalLog::new(presenter, end_entity.as_ref(), expected, &rejection))
    }

    /// The whole server-side or client-side policy at the current time.
    pub(crate) fn check_for_test(
        &self,
        end_entity: &CertificateDer<'_>,
        presenter: Presenter,
    ) -> Result<String, rustls::Error> {
        let expected = match presenter {
            Presenter::Client => None,
            Presenter::Server => Some("alice"),
        };
        self.accept(presenter, end_entity, &[], UnixTime::now(), expected)
    }
}
